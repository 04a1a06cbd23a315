// Shared by the guest and staff pages: calls to the API and words for its answers.
"use strict";

/** Calls the API; resolves to {status, body, headers} whatever the status. */
async function api(method, path, body, headers) {
  const options = { method, headers: Object.assign({}, headers || {}) };
  if (body !== undefined) {
    options.headers["content-type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, options);
  } catch (error) {
    return { status: 0, body: null, headers: new Headers() };
  }
  let parsed = null;
  try { parsed = await response.json(); } catch (error) { parsed = null; }
  return { status: response.status, body: parsed, headers: response.headers };
}

const ZONE = (document.querySelector('meta[name="restaurant-timezone"]') || {}).content || "UTC";
const TIME = new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, hour: "2-digit", minute: "2-digit" });
const DAY = new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, weekday: "long", day: "numeric", month: "long" });

/** "Thursday 24 December, 19:00 to 21:00" in the restaurant's time. */
function when(slot) {
  const from = new Date(slot.from), to = new Date(slot.to);
  return DAY.format(from) + ", " + TIME.format(from) + " to " + TIME.format(to);
}

/** "19:00 to 21:00". */
function hours(slot) {
  return TIME.format(new Date(slot.from)) + " to " + TIME.format(new Date(slot.to));
}

/** Words a person understands for a refusal of the API. */
function explain(answer) {
  const body = answer.body || {};
  switch (answer.status) {
    case 0: return "We cannot reach the restaurant's system. Check your connection and try again.";
    case 400:
      return "Please check: " + (body.errors || []).map((e) => fieldName(e.field) + " " + e.message).join("; ") + ".";
    case 401: return "The staff token is not right. Sign in again.";
    case 403: return "That access code does not match this booking.";
    case 404: return "We could not find it. Check what you typed and try again.";
    case 409: return reasonWords(body.reason) || body.detail || "That cannot be done now.";
    case 429: {
      const wait = Number(answer.headers.get("retry-after") || 60);
      return "Too many attempts. Please try again in " + Math.ceil(wait / 60) + " minute(s).";
    }
    case 503: return "The restaurant's system is busy or starting. Please try again in a moment.";
    default: return "Something went wrong on our side. Please try again later.";
  }
}

function fieldName(field) {
  const names = { timeSlot: "the time", people: "the number of people", "customer.name": "your name",
    "customer.email": "your email", email: "the email", accessCode: "the access code", tableId: "the table",
    id: "the id", seats: "the seats", tables: "the tables", date: "the date" };
  return names[field] || field;
}

function reasonWords(reason) {
  return {
    "slot-taken": "Sorry, that time has just been taken.",
    "too-small": "Sorry, that table is too small for your party.",
    "no-table-available": "Sorry, no table is free for your party at that time.",
    "table-not-found": "That table does not exist.",
    "table-removed": "That table is no longer in use.",
    timeout: "We could not confirm it in time. Please try again.",
    cancelled: "The booking was cancelled meanwhile.",
  }[reason];
}

/** Shows `text` in `element` as a message of `kind` (ok or bad), and moves focus there. */
function say(element, text, kind) {
  element.replaceChildren();
  const p = document.createElement("p");
  p.className = "message " + (kind || "ok");
  p.textContent = text;
  element.append(p);
  element.focus();
  return p;
}

/** A button with `label` that calls `onClick`. */
function button(label, onClick, secondary) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = label;
  if (secondary) b.className = "secondary";
  b.addEventListener("click", onClick);
  return b;
}

/** YYYY-MM-DD of today (+ `days`) in the restaurant's time zone. */
function localDate(days) {
  const date = new Date(Date.now() + (days || 0) * 86400000);
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(date);
  const get = (type) => parts.find((p) => p.type === type).value;
  return get("year") + "-" + get("month") + "-" + get("day");
}
