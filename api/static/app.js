// Web chat for the financing advisor: streams replies over POST + server-sent events and renders
// the structured turn (reasons, recommendations, warnings, follow-up, sources). Every piece of
// user or server text enters the page through textContent, never through innerHTML.
"use strict";

const MAX_CHARS = 2000;
const SESSION_KEY = "finadvisor.session_id";

// Interface wording only, in the two languages a turn can have. Everything about the advice
// itself (channel labels, follow-up options and their answers, the skip choice) comes in the turn.
const UI = {
  zh: {
    confidence: "可信度",
    fit: "匹配度",
    evidence: "依据：",
    why: "为什么适合",
    how: "怎么做",
    apr: "年化利率",
    speed: "到账速度",
    effect: "多久见效",
    materials: "准备材料",
    basis: "依据 ",
    reasons: "**可能的原因**",
    recommendations: "**可以考虑的渠道**",
    warnings: "**风险提示**",
    sources: "**来源**",
    fullPicture: "完整诊断与推荐",
    source: "来源",
    sourceN: (n, title) => `来源${n}：${title}`,
    newTab: (label) => `${label}（在新标签页打开）`,
    updated: (date) => `${date} 更新`,
  },
  en: {
    confidence: "Confidence",
    fit: "Fit",
    evidence: "Evidence: ",
    why: "Why it fits",
    how: "What to do",
    apr: "APR",
    speed: "Speed",
    effect: "Time to effect",
    materials: "Materials",
    basis: "Sources ",
    reasons: "**Possible reasons**",
    recommendations: "**Channels to consider**",
    warnings: "**Warnings**",
    sources: "**Sources**",
    fullPicture: "Full diagnosis and options",
    source: "source",
    sourceN: (n, title) => `Source ${n}: ${title}`,
    newTab: (label) => `${label} (opens in a new tab)`,
    updated: (date) => `updated ${date}`,
  },
};

function ui(lang) {
  return UI[lang] || UI.zh;
}

const form = document.getElementById("composer-form");
const input = document.getElementById("message");
const sendButton = document.getElementById("send");
const newChatButton = document.getElementById("new-chat");
const counter = document.getElementById("counter");
const errorLine = document.getElementById("error");
const log = document.getElementById("log");
const welcome = document.getElementById("welcome");

let busy = false;

// ---- small DOM helpers ------------------------------------------------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function docUrl(docId, heading) {
  const base = `/v1/docs/${encodeURIComponent(docId)}?format=html`;
  return heading ? `${base}#${encodeURIComponent(heading)}` : base;
}

function sourceLink(text, docId, heading, label, className = "cite", lang = "zh") {
  const link = el("a", className, text);
  link.href = docUrl(docId, heading);
  link.target = "_blank";
  link.rel = "noopener";
  if (label) link.setAttribute("aria-label", ui(lang).newTab(label));
  return link;
}

function prefersReducedMotion() {
  return window.matchMedia("(prefers-reduced-motion: reduce)").matches;
}

// ---- rich text: **bold**, [n] citations, line breaks, numbered and bulleted lists -------------

function appendInline(parent, text, citations, lang = "zh") {
  const pattern = /\*\*(.+?)\*\*|\[(\d+)\]/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) parent.append(text.slice(last, match.index));
    if (match[1] !== undefined) {
      const strong = el("strong");
      appendInline(strong, match[1], citations, lang);
      parent.append(strong);
    } else {
      const source = citations.get(Number(match[2]));
      const label = source && ui(lang).sourceN(source.n, source.title);
      parent.append(
        source ? sourceLink(match[0], source.doc_id, source.heading, label, "cite", lang) : match[0],
      );
    }
    last = match.index + match[0].length;
  }
  if (last < text.length) parent.append(text.slice(last));
}

function renderRich(text, citations = new Map(), lang = "zh") {
  const fragment = document.createDocumentFragment();
  let paragraph = null;
  let list = null;
  let item = null;
  let subList = null;

  const closeBlocks = () => {
    paragraph = null;
    list = null;
    item = null;
    subList = null;
  };

  for (const line of text.split("\n")) {
    const numbered = line.match(/^(\d+)\.\s+(.*)$/);
    const nested = line.match(/^\s+[-*]\s+(.*)$/);
    const bullet = line.match(/^[-*]\s+(.*)$/);
    if (!line.trim()) {
      closeBlocks();
    } else if (numbered) {
      if (!list || list.tagName !== "OL") {
        closeBlocks();
        list = el("ol");
        list.start = Number(numbered[1]);
        fragment.append(list);
      }
      item = el("li");
      subList = null;
      appendInline(item, numbered[2], citations, lang);
      list.append(item);
    } else if (nested && item) {
      if (!subList) {
        subList = el("ul");
        item.append(subList);
      }
      const sub = el("li");
      appendInline(sub, nested[1], citations, lang);
      subList.append(sub);
    } else if (bullet || nested) {
      if (!list || list.tagName !== "UL") {
        closeBlocks();
        list = el("ul");
        fragment.append(list);
      }
      item = el("li");
      appendInline(item, (bullet || nested)[1], citations, lang);
      list.append(item);
    } else {
      list = null;
      item = null;
      subList = null;
      if (paragraph) {
        paragraph.append(el("br"));
      } else {
        paragraph = el("p");
        fragment.append(paragraph);
      }
      appendInline(paragraph, line, citations, lang);
    }
  }
  return fragment;
}

// ---- server-sent events over fetch (EventSource cannot POST) -----------------------------------

function createSseParser(onEvent) {
  let buffer = "";
  let type = "";
  let data = [];

  const dispatch = () => {
    if (data.length) onEvent(type || "message", data.join("\n"));
    type = "";
    data = [];
  };

  const takeLine = (line) => {
    if (line === "") return dispatch();
    if (line.startsWith(":")) return; // keep-alive comment
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") type = value;
    else if (field === "data") data.push(value);
  };

  return {
    push(chunk, final = false) {
      buffer += chunk;
      for (;;) {
        const end = buffer.search(/\r\n|\r|\n/);
        if (end === -1) break;
        // A lone "\r" at the end may be the first half of "\r\n" split across network chunks.
        if (buffer[end] === "\r" && end === buffer.length - 1 && !final) break;
        const width = buffer.startsWith("\r\n", end) ? 2 : 1;
        takeLine(buffer.slice(0, end));
        buffer = buffer.slice(end + width);
      }
      if (final) {
        if (buffer) takeLine(buffer);
        buffer = "";
        dispatch();
      }
    },
  };
}

async function readStream(response, handlers) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const parser = createSseParser((type, raw) => {
    const handler = handlers[type];
    if (handler) handler(JSON.parse(raw));
  });
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.push(decoder.decode(value, { stream: true }));
  }
  parser.push(decoder.decode(), true);
}

async function errorMessage(response) {
  let message = "";
  try {
    message = (await response.json()).error || "";
  } catch {
    // not a JSON body (a proxy error page, say): fall back to the status below
  }
  return message || `请求失败（HTTP ${response.status}），请稍后再试。`;
}

// ---- the conversation log ---------------------------------------------------------------------

function showWelcome(visible) {
  welcome.hidden = !visible;
}

function addUserMessage(text) {
  const article = el("article", "msg user");
  article.setAttribute("aria-label", "你的消息");
  article.append(el("div", "bubble", text));
  log.append(article);
  return article;
}

function addBotMessage() {
  const article = el("article", "msg bot");
  article.setAttribute("aria-label", "顾问的回答");
  article.setAttribute("aria-busy", "true");
  article.dataset.state = "streaming";
  const bubble = el("div", "bubble");
  const reply = el("div", "reply");
  reply.append(el("p", "typing", "正在分析…"));
  bubble.append(reply);
  article.append(bubble);
  log.append(article);
  return article;
}

// Answering moves the conversation on, so earlier quick replies stop being valid answers.
function retireQuickReplies() {
  const live = [...log.querySelectorAll(".follow-up button:not(:disabled)")];
  for (const button of live) button.disabled = true;
  return live;
}

function setBusy(value) {
  busy = value;
  input.disabled = value;
  newChatButton.disabled = value;
  form.setAttribute("aria-busy", String(value));
  updateComposer();
}

function updateComposer() {
  const length = input.value.length;
  counter.textContent = `${length} / ${MAX_CHARS}`;
  counter.classList.toggle("over", length > MAX_CHARS);
  sendButton.disabled = busy || !input.value.trim();
}

function showError(message) {
  errorLine.textContent = message;
  errorLine.hidden = false;
}

function clearError() {
  errorLine.hidden = true;
  errorLine.textContent = "";
}

// ---- rendering one structured turn ------------------------------------------------------------

function section(className, heading, citations, lang) {
  const node = el("section", `panel ${className}`);
  const title = el("h3", "panel-title");
  appendInline(title, heading.replace(/[：:]\s*$/, ""), citations, lang);
  node.append(title);
  return node;
}

const FOLDABLE = ["reasons", "recommendations", "warnings"];

// The reply text repeats what the panels show; the block holding each part is found by its
// content and the panel takes its place, so the server's order is kept and a block the page
// cannot place stays as text (nothing is lost).
function splitReply(turn) {
  // a numbered card line ("1. **title**…"), not an answer that names the product in bold
  const isCardLine = (line) =>
    /^\d+\.\s/.test(line) && turn.recommendations.some((r) => line.includes(`**${r.title}**`));
  const owners = {
    reasons: (block) => turn.reasons.some((r) => r.evidence && block.includes(r.evidence)),
    recommendations: (block) => block.split("\n").some(isCardLine),
    warnings: (block) => turn.warnings.some((w) => block.includes(w.message)),
    follow_up: (block) => Boolean(turn.follow_up) && block.includes(turn.follow_up.question),
    citations: (block) => turn.citations.some((c) => block.includes(`[${c.n}] ${c.title}`)),
  };
  const parts = [];
  const placed = new Set();
  for (const block of turn.reply.split(/\n{2,}/)) {
    const owner = Object.keys(owners).find((name) => !placed.has(name) && owners[name](block));
    if (!owner) {
      const previous = parts[parts.length - 1];
      if (previous && previous.text !== undefined) previous.text += `\n\n${block}`;
      else parts.push({ text: block });
      continue;
    }
    placed.add(owner);
    const first = block.split("\n")[0];
    parts.push({ panel: owner, header: first.startsWith("**") && !owners[owner](first) ? first : "" });
  }
  // Parts the text did not mention still get their panel. On a delta turn the text shows only
  // what changed, so the rest of the picture waits folded in one part, ahead of the follow-up
  // question and the sources (the question stays the last thing to read).
  const unplaced = Object.keys(owners).filter((name) => {
    const present = name === "follow_up" ? Boolean(turn.follow_up) : turn[name].length > 0;
    return present && !placed.has(name);
  });
  const folded = turn.view === "delta" ? unplaced.filter((name) => FOLDABLE.includes(name)) : [];
  if (folded.length) {
    const next = parts.findIndex((part) => part.panel === "follow_up" || part.panel === "citations");
    parts.splice(next === -1 ? parts.length : next, 0, { fold: folded });
  }
  for (const name of unplaced) {
    if (!folded.includes(name)) parts.push({ panel: name, header: "" });
  }
  return parts;
}

function confidenceBar(value, label) {
  const percent = Math.round(Math.max(0, Math.min(1, value)) * 100);
  const bar = el("div", "bar");
  bar.setAttribute("role", "img");
  bar.setAttribute("aria-label", `${label} ${percent}%`);
  const fill = el("span", "bar-fill");
  fill.style.width = `${percent}%`;
  bar.append(fill);
  return { bar, percent };
}

function citeFor(anchor, byAnchor, lang) {
  const text = ui(lang);
  const found = byAnchor.get(anchor);
  if (found) {
    const label = text.sourceN(found.n, found.title);
    return sourceLink(`[${found.n}]`, found.doc_id, found.heading, label, "cite", lang);
  }
  const [docId, heading = ""] = anchor.split("#");
  return sourceLink(`[${text.source}]`, docId, heading, `${text.source}: ${docId}`, "cite", lang);
}

function renderReasons(turn, heading, citations, byAnchor) {
  const text = ui(turn.lang);
  const node = section("reasons", heading || text.reasons, citations, turn.lang);
  const list = el("ul", "chips");
  for (const reason of turn.reasons) {
    const chip = el("li", "chip");
    chip.dataset.code = reason.code;
    const head = el("div", "chip-head");
    head.append(el("span", "chip-label", reason.label || reason.code));
    const { bar, percent } = confidenceBar(reason.confidence, text.confidence);
    const meter = el("div", "meter");
    meter.append(bar, el("span", "chip-confidence", `${text.confidence} ${percent}%`));
    chip.append(head, meter);
    if (reason.evidence) chip.append(el("p", "chip-evidence", `${text.evidence}${reason.evidence}`));
    if (reason.advice) {
      const advice = el("p", "chip-advice", reason.advice);
      for (const anchor of reason.citations || []) {
        advice.append(" ", citeFor(anchor, byAnchor, turn.lang));
      }
      chip.append(advice);
    }
    list.append(chip);
  }
  node.append(list);
  return node;
}

function detail(list, term, value, className) {
  if (!value) return;
  const row = el("div", className ? `detail ${className}` : "detail");
  row.append(el("dt", "", term), el("dd", "", value));
  list.append(row);
}

function renderRecommendations(turn, heading, citations, byAnchor) {
  const text = ui(turn.lang);
  const node = section("recommendations", heading || text.recommendations, citations, turn.lang);
  const list = el("ol", "cards");
  for (const rec of turn.recommendations) {
    const repair = rec.credit_step;
    const card = el("li", repair ? "card rec-card repair" : "card rec-card");
    card.dataset.channel = rec.channel;
    const head = el("div", "card-head");
    head.append(el("h4", "card-title", rec.title));
    head.append(el("span", "badge", rec.channel_label || rec.channel));
    card.append(head);
    if (rec.provider) card.append(el("p", "provider", rec.provider));

    const { bar, percent } = confidenceBar(rec.fit, text.fit);
    const fit = el("div", "meter fit");
    fit.append(bar, el("span", "fit-label", `${text.fit} ${percent}%`));
    card.append(fit);

    const facts = el("dl", "facts");
    detail(facts, repair ? text.how : text.why, rec.why, "why");
    if (!repair) detail(facts, text.apr, rec.apr, "apr");
    detail(facts, repair ? text.effect : text.speed, rec.speed, "speed");
    card.append(facts);

    if (rec.materials && rec.materials.length) {
      const materials = el("div", "materials");
      materials.append(el("p", "materials-title", text.materials));
      const items = el("ul");
      for (const material of rec.materials) items.append(el("li", "", material));
      materials.append(items);
      card.append(materials);
    }
    if (rec.citations && rec.citations.length) {
      const cites = el("p", "card-cites", text.basis);
      for (const anchor of rec.citations) cites.append(citeFor(anchor, byAnchor, turn.lang));
      card.append(cites);
    }
    list.append(card);
  }
  node.append(list);
  return node;
}

function renderWarnings(turn, heading, citations) {
  const node = section("warnings", heading || ui(turn.lang).warnings, citations, turn.lang);
  node.setAttribute("role", "note");
  const list = el("ul");
  for (const warning of turn.warnings) {
    const item = el("li");
    appendInline(item, warning.message, citations, turn.lang);
    list.append(item);
  }
  node.append(list);
  return node;
}

// Each option carries its value and its label in both languages; the button sends the label in
// the turn's language, which the advisor reads back to exactly that value.
function labelIn(label, lang) {
  return (label && (label[lang] || label.zh)) || "";
}

function optionButton(text, className) {
  const button = el("button", className, text);
  button.type = "button";
  button.addEventListener("click", () => send(text, { quickReply: true }));
  return button;
}

function renderFollowUp(turn) {
  const followUp = turn.follow_up;
  const node = el("section", "panel follow-up");
  node.dataset.field = followUp.field;
  const question = el("h3", "panel-title", followUp.question);
  question.id = `follow-up-${log.children.length}`;
  node.setAttribute("aria-labelledby", question.id);
  node.append(question);
  const options = el("div", "options");
  for (const option of followUp.options || []) {
    const button = optionButton(labelIn(option.label, turn.lang), "button option");
    button.dataset.value = JSON.stringify(option.value);
    options.append(button);
  }
  const skip = labelIn(followUp.skip, turn.lang);
  if (skip) options.append(optionButton(skip, "button option skip"));
  node.append(options);
  return node;
}

function renderSources(turn, heading, citations) {
  const text = ui(turn.lang);
  const node = section("sources", heading || text.sources, citations, turn.lang);
  const list = el("ol", "source-list");
  for (const source of turn.citations) {
    const item = el("li");
    item.value = source.n;
    const link = sourceLink(source.title, source.doc_id, source.heading, "", "source-link");
    item.append(el("span", "source-n", `[${source.n}]`), " ", link);
    const where = [source.heading, source.updated && text.updated(source.updated)].filter(Boolean);
    if (where.length) item.append(el("span", "source-meta", ` · ${where.join(" · ")}`));
    list.append(item);
  }
  node.append(list);
  return node;
}

// One native <details>: closed by default, opened by a click, Enter or Space on its summary.
function renderFullPicture(turn, names, panels) {
  const details = el("details", "full-picture");
  details.append(el("summary", "full-picture-summary", ui(turn.lang).fullPicture));
  for (const name of names) details.append(panels[name](""));
  return details;
}

function renderTurn(article, turn) {
  const citations = new Map(turn.citations.map((c) => [c.n, c]));
  const byAnchor = new Map(turn.citations.map((c) => [`${c.doc_id}#${c.heading}`, c]));
  const panels = {
    reasons: (header) => renderReasons(turn, header, citations, byAnchor),
    recommendations: (header) => renderRecommendations(turn, header, citations, byAnchor),
    warnings: (header) => renderWarnings(turn, header, citations),
    follow_up: () => renderFollowUp(turn),
    citations: (header) => renderSources(turn, header, citations),
  };
  const nodes = splitReply(turn).map((part) => {
    if (part.fold) return renderFullPicture(turn, part.fold, panels);
    if (part.panel) return panels[part.panel](part.header);
    const reply = el("div", "reply");
    reply.append(renderRich(part.text, citations, turn.lang));
    return reply;
  });
  article.querySelector(".bubble").replaceChildren(...nodes);
  article.dataset.state = "done";
  article.dataset.intent = turn.intent;
  article.dataset.view = turn.view || "full";
  article.lang = turn.lang === "en" ? "en" : "zh-CN";
  article.setAttribute("aria-busy", "false");
}

// ---- sending ----------------------------------------------------------------------------------

async function requestTurn(message, article) {
  const sessionId = sessionStorage.getItem(SESSION_KEY);
  const body = JSON.stringify(sessionId ? { session_id: sessionId, message } : { message });
  const canStream = typeof TextDecoder !== "undefined" && "body" in Response.prototype;
  const response = await fetch(canStream ? "/v1/chat/stream" : "/v1/chat", {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      Accept: canStream ? "text/event-stream" : "application/json",
    },
    body,
  });
  if (!response.ok) return { error: await errorMessage(response) };
  if (!canStream) return { turn: await response.json() };

  let streamed = "";
  let turn = null;
  const reply = article.querySelector(".reply");
  await readStream(response, {
    session: (event) => sessionStorage.setItem(SESSION_KEY, event.session_id),
    delta: (event) => {
      streamed += event.text;
      reply.replaceChildren(renderRich(streamed));
    },
    turn: (event) => {
      turn = event;
    },
  });
  if (!turn) throw new Error("the stream ended before the turn event");
  return { turn };
}

async function send(text, { quickReply = false } = {}) {
  if (busy || !text.trim()) return;
  clearError();
  const quickReplies = retireQuickReplies();
  showWelcome(false);
  const userMessage = addUserMessage(text);
  const botMessage = addBotMessage();
  setBusy(true);
  let failure = "";
  try {
    const { turn, error } = await requestTurn(text, botMessage);
    if (error) {
      failure = error;
    } else {
      if (turn.session_id) sessionStorage.setItem(SESSION_KEY, turn.session_id);
      if (!quickReply) input.value = "";
      renderTurn(botMessage, turn);
      userMessage.scrollIntoView({ block: "start", behavior: prefersReducedMotion() ? "auto" : "smooth" });
    }
  } catch {
    failure = "连接中断，没有收到回答；请检查服务是否在运行后重试。";
  } finally {
    if (failure) {
      userMessage.remove();
      botMessage.remove();
      // Keep the words: a failed quick reply lands in an empty input so it can be resent.
      if (quickReply && !input.value.trim()) input.value = text;
      for (const button of quickReplies) button.disabled = false;
      showError(`发送失败：${failure}`);
      if (!log.children.length) showWelcome(true);
    }
    setBusy(false);
    input.focus();
  }
}

async function newConversation() {
  const sessionId = sessionStorage.getItem(SESSION_KEY);
  sessionStorage.removeItem(SESSION_KEY);
  log.replaceChildren();
  clearError();
  showWelcome(true);
  input.focus();
  if (sessionId) {
    try {
      await fetch(`/v1/sessions/${encodeURIComponent(sessionId)}`, { method: "DELETE" });
    } catch {
      // the server forgets idle sessions on its own; a failed delete loses nothing here
    }
  }
}

// A reload keeps the session (sessionStorage), so show its earlier turns as plain text.
async function restoreConversation() {
  const sessionId = sessionStorage.getItem(SESSION_KEY);
  if (!sessionId) return;
  let session;
  try {
    const response = await fetch(`/v1/sessions/${encodeURIComponent(sessionId)}`);
    if (response.status === 404) sessionStorage.removeItem(SESSION_KEY);
    if (!response.ok) return;
    session = await response.json();
  } catch {
    return;
  }
  if (log.children.length || !session.turns || !session.turns.length) return;
  showWelcome(false);
  for (const turn of session.turns) {
    if (turn.role === "user") {
      addUserMessage(turn.text);
    } else {
      const article = el("article", "msg bot");
      article.setAttribute("aria-label", "顾问的回答");
      article.dataset.state = "restored";
      const bubble = el("div", "bubble");
      const reply = el("div", "reply");
      reply.append(renderRich(turn.text));
      bubble.append(reply);
      article.append(bubble);
      log.append(article);
    }
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  send(input.value);
});

input.addEventListener("keydown", (event) => {
  // isComposing: Enter also confirms a Chinese IME candidate and must not send then.
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    send(input.value);
  }
});

input.addEventListener("input", updateComposer);
newChatButton.addEventListener("click", newConversation);
for (const button of document.querySelectorAll(".example")) {
  button.addEventListener("click", () => {
    input.value = button.textContent;
    send(input.value);
  });
}

updateComposer();
restoreConversation();
