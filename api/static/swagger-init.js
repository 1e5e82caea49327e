// Starts Swagger UI on /docs from local assets (no inline script: the page's CSP forbids it).
window.addEventListener("load", () => {
  window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
});
