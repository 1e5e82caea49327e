"""The baseline of the API benchmark: a bare FastAPI app with one JSON endpoint."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Message(BaseModel):
    """Same request shape as /v1/chat."""

    message: str


@app.post("/echo")
def echo(body: Message) -> dict[str, str]:
    """Return the message: JSON parsing and serialisation only."""
    return {"reply": body.message}
