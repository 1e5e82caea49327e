// Web chat for the financing advisor: streams replies over POST + server-sent events and renders
// the structured turn (reasons, recommendations, warnings, follow-up, sources). Every piece of
// user or server text enters the page through textContent, never through innerHTML.
"use strict";

const MAX_CHARS = 2000;
const SESSION_KEY = "finadvisor.session_id";

// Channel codes of knowledge/taxonomy.yaml; the turn carries only the code.
const CHANNEL_LABELS = {
  bank_supply_chain: "银行供应链金融",
  bank_inclusive_loan: "银行普惠小微贷",
  bank_tax_loan: "银税互动税贷",
  gov_guarantee: "政府性担保与政策贷款",
  secured_loan: "抵押质押贷款",
  fintech_business_loan: "金融科技经营贷",
  fintech_consumer_credit: "金融科技消费信贷",
  consumer_finance_company: "持牌消费金融公司",
  credit_card: "信用卡",
  leasing_or_bill: "融资租赁与票据",
  credit_improvement: "先修复信用",
};

// Follow-up options arrive as profile values ("none", "True", "20000"); each button sends a short
// Chinese answer the advisor reads back as that value (tests/test_browser.py checks every one).
const FOLLOW_UP_ANSWERS = {
  overdue: { none: "没有逾期", past: "以前有过，已还清", current: "还在逾期" },
  segment: { consumer: "个人或家庭用", sole_proprietor: "个体户经营用", sme: "公司经营用" },
  need_purpose: { working_capital: "经营周转", consumption: "日常消费", repay_debt: "还其他贷款" },
  lender_count: { 0: "0家", 3: "3家左右", 6: "6家以上" },
  inquiries_recent: { 1: "1次", 4: "4次左右", 10: "10次以上" },
  tax_rating: { A: "A级", M: "M级", D: "D级" },
  receivables_large_buyers: { True: "有", False: "没有" },
  collateral: { "['property']": "有房产", "[]": "没有" },
  years_operating: { 0.5: "做了半年", 3: "做了3年" },
  need_amount: { 20000: "2万", 500000: "50万", 3000000: "300万" },
  urgency: { days: "几天内就要", months: "不急，可以等几个月" },
  monthly_income: { 3000: "月收入3000元", 15000: "月收入1.5万" },
  social_insurance: { True: "有", False: "没有" },
  zhima_score: { 560: "560分左右", 720: "720分左右" },
  is_student: { True: "是", False: "不是" },
};
const GENERIC_ANSWERS = { True: "是", False: "不是" };
const SKIP_ANSWER = "跳过";

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

function sourceLink(text, docId, heading, label, className = "cite") {
  const link = el("a", className, text);
  link.href = docUrl(docId, heading);
  link.target = "_blank";
  link.rel = "noopener";
  if (label) link.setAttribute("aria-label", `${label}（在新标签页打开）`);
  return link;
}

function prefersReducedMotion() {
  return window.matchMedia("(prefers-reduced-motion: reduce)").matches;
}

// ---- rich text: **bold**, [n] citations, line breaks, numbered and bulleted lists -------------

function appendInline(parent, text, citations) {
  const pattern = /\*\*(.+?)\*\*|\[(\d+)\]/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) parent.append(text.slice(last, match.index));
    if (match[1] !== undefined) {
      const strong = el("strong");
      appendInline(strong, match[1], citations);
      parent.append(strong);
    } else {
      const source = citations.get(Number(match[2]));
      parent.append(
        source
          ? sourceLink(match[0], source.doc_id, source.heading, `来源${source.n}：${source.title}`)
          : match[0],
      );
    }
    last = match.index + match[0].length;
  }
  if (last < text.length) parent.append(text.slice(last));
}

function renderRich(text, citations = new Map()) {
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
      appendInline(item, numbered[2], citations);
      list.append(item);
    } else if (nested && item) {
      if (!subList) {
        subList = el("ul");
        item.append(subList);
      }
      const sub = el("li");
      appendInline(sub, nested[1], citations);
      subList.append(sub);
    } else if (bullet || nested) {
      if (!list || list.tagName !== "UL") {
        closeBlocks();
        list = el("ul");
        fragment.append(list);
      }
      item = el("li");
      appendInline(item, (bullet || nested)[1], citations);
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
      appendInline(paragraph, line, citations);
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

function section(className, heading, citations) {
  const node = el("section", `panel ${className}`);
  const title = el("h3", "panel-title");
  appendInline(title, heading.replace(/[：:]\s*$/, ""), citations);
  node.append(title);
  return node;
}

// The reply text repeats what the panels show; the block holding each part is found by its
// content and the panel takes its place, so the server's order is kept and a block the page
// cannot place stays as text (nothing is lost).
function splitReply(turn) {
  const owners = {
    reasons: (block) => turn.reasons.some((r) => r.evidence && block.includes(r.evidence)),
    recommendations: (block) => turn.recommendations.some((r) => block.includes(`**${r.title}**`)),
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
  // Parts the text did not mention still get their panel, at the end.
  for (const name of Object.keys(owners)) {
    const present = name === "follow_up" ? Boolean(turn.follow_up) : turn[name].length > 0;
    if (present && !placed.has(name)) parts.push({ panel: name, header: "" });
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

function citeFor(anchor, byAnchor) {
  const found = byAnchor.get(anchor);
  if (found) {
    return sourceLink(`[${found.n}]`, found.doc_id, found.heading, `来源${found.n}：${found.title}`);
  }
  const [docId, heading = ""] = anchor.split("#");
  return sourceLink("[来源]", docId, heading, `来源：${docId}`);
}

function renderReasons(turn, heading, citations, byAnchor) {
  const node = section("reasons", heading || "**可能的原因**", citations);
  const list = el("ul", "chips");
  for (const reason of turn.reasons) {
    const chip = el("li", "chip");
    const head = el("div", "chip-head");
    head.append(el("span", "chip-label", reason.label || reason.code));
    head.append(el("code", "chip-code", reason.code));
    const { bar, percent } = confidenceBar(reason.confidence, "可信度");
    const meter = el("div", "meter");
    meter.append(bar, el("span", "chip-confidence", `可信度 ${percent}%`));
    chip.append(head, meter);
    if (reason.evidence) chip.append(el("p", "chip-evidence", `依据：${reason.evidence}`));
    if (reason.advice) {
      const advice = el("p", "chip-advice", reason.advice);
      for (const anchor of reason.citations || []) advice.append(" ", citeFor(anchor, byAnchor));
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
  const node = section("recommendations", heading || "**可以考虑的渠道**", citations);
  const list = el("ol", "cards");
  for (const rec of turn.recommendations) {
    const repair = rec.channel === "credit_improvement";
    const card = el("li", repair ? "card rec-card repair" : "card rec-card");
    const head = el("div", "card-head");
    head.append(el("h4", "card-title", rec.title));
    head.append(el("span", "badge", CHANNEL_LABELS[rec.channel] || rec.channel));
    card.append(head);
    if (rec.provider) card.append(el("p", "provider", rec.provider));

    const { bar, percent } = confidenceBar(rec.fit, "匹配度");
    const fit = el("div", "meter fit");
    fit.append(bar, el("span", "fit-label", `匹配度 ${percent}%`));
    card.append(fit);

    const facts = el("dl", "facts");
    detail(facts, repair ? "怎么做" : "为什么适合", rec.why, "why");
    if (!repair) detail(facts, "年化利率", rec.apr, "apr");
    detail(facts, repair ? "多久见效" : "到账速度", rec.speed, "speed");
    card.append(facts);

    if (rec.materials && rec.materials.length) {
      const materials = el("div", "materials");
      materials.append(el("p", "materials-title", "准备材料"));
      const items = el("ul");
      for (const material of rec.materials) items.append(el("li", "", material));
      materials.append(items);
      card.append(materials);
    }
    if (rec.citations && rec.citations.length) {
      const cites = el("p", "card-cites", "依据 ");
      for (const anchor of rec.citations) cites.append(citeFor(anchor, byAnchor));
      card.append(cites);
    }
    list.append(card);
  }
  node.append(list);
  return node;
}

function renderWarnings(turn, heading, citations) {
  const node = section("warnings", heading || "**风险提示**", citations);
  node.setAttribute("role", "note");
  const list = el("ul");
  for (const warning of turn.warnings) {
    const item = el("li");
    appendInline(item, warning.message, citations);
    list.append(item);
  }
  node.append(list);
  return node;
}

function answerFor(field, option) {
  return (FOLLOW_UP_ANSWERS[field] || {})[option] || GENERIC_ANSWERS[option] || option;
}

function renderFollowUp(turn) {
  const node = el("section", "panel follow-up");
  const question = el("h3", "panel-title", turn.follow_up.question);
  question.id = `follow-up-${log.children.length}`;
  node.setAttribute("aria-labelledby", question.id);
  node.append(question);
  const options = el("div", "options");
  for (const option of turn.follow_up.options || []) {
    const answer = answerFor(turn.follow_up.field, option);
    const button = el("button", "button option", answer);
    button.type = "button";
    button.addEventListener("click", () => send(answer, { quickReply: true }));
    options.append(button);
  }
  const skip = el("button", "button option skip", "跳过");
  skip.type = "button";
  skip.addEventListener("click", () => send(SKIP_ANSWER, { quickReply: true }));
  options.append(skip);
  node.append(options);
  return node;
}

function renderSources(turn, heading, citations) {
  const node = section("sources", heading || "**来源**", citations);
  const list = el("ol", "source-list");
  for (const source of turn.citations) {
    const item = el("li");
    item.value = source.n;
    const link = sourceLink(source.title, source.doc_id, source.heading, "", "source-link");
    item.append(el("span", "source-n", `[${source.n}]`), " ", link);
    const where = [source.heading, source.updated && `${source.updated} 更新`].filter(Boolean);
    if (where.length) item.append(el("span", "source-meta", ` · ${where.join(" · ")}`));
    list.append(item);
  }
  node.append(list);
  return node;
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
    if (part.panel) return panels[part.panel](part.header);
    const reply = el("div", "reply");
    reply.append(renderRich(part.text, citations));
    return reply;
  });
  article.querySelector(".bubble").replaceChildren(...nodes);
  article.dataset.state = "done";
  article.dataset.intent = turn.intent;
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
