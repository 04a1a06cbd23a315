// The staff page: the admin token entered once and kept in the tab's session storage;
// tables and combinations; the day sheet (slots by tables, each booking with its party,
// name and status, cancellable); the read side's generation and lag.
"use strict";

const $ = (id) => document.getElementById(id);
const TOKEN = "restaurant-admin-token";
const auth = () => ({ authorization: "Bearer " + sessionStorage.getItem(TOKEN) });

document.addEventListener("DOMContentLoaded", () => {
  $("token-form").addEventListener("submit", (event) => { event.preventDefault(); signIn(); });
  $("sign-out").addEventListener("click", signOut);
  $("sheet-form").addEventListener("submit", (event) => { event.preventDefault(); showSheet(); });
  $("table-form").addEventListener("submit", (event) => { event.preventDefault(); addTable(); });
  $("combination-form").addEventListener("submit", (event) => { event.preventDefault(); addCombination(); });
  $("refresh-read-side").addEventListener("click", showReadSide);
  $("sheet-day").value = localDate(0);
  if (sessionStorage.getItem(TOKEN)) enter();
});

async function signIn() {
  sessionStorage.setItem(TOKEN, $("token").value);
  const answer = await api("GET", "/read-side", undefined, auth());
  if (answer.status === 401 || answer.status === 429) {
    sessionStorage.removeItem(TOKEN);
    say($("sign-in-message"), explain(answer), "bad");
    return;
  }
  $("token").value = "";
  enter();
}

function signOut() {
  sessionStorage.removeItem(TOKEN);
  $("signed-in").hidden = true;
  $("sign-in").hidden = false;
  $("token").focus();
}

function enter() {
  $("sign-in").hidden = true;
  $("signed-in").hidden = false;
  showTables();
  showReadSide();
  showSheet();
}

/** A refusal that means the token is no longer good sends the person back to sign in. */
function refused(answer, where) {
  if (answer.status === 401) { signOut(); say($("sign-in-message"), explain(answer), "bad"); return; }
  say(where, explain(answer), "bad");
}

async function showSheet() {
  const day = $("sheet-day").value;
  const [sheet, tables] = await Promise.all([
    api("GET", "/bookings?date=" + encodeURIComponent(day), undefined, auth()),
    api("GET", "/tables"),
  ]);
  if (sheet.status !== 200) { refused(sheet, $("sheet")); return; }
  const ids = (tables.body ? tables.body.tables : []).map((t) => t.id);
  const grid = document.createElement("table");
  grid.id = "sheet-table";
  const head = grid.createTHead().insertRow();
  const corner = document.createElement("th");
  corner.textContent = "Slot";
  head.append(corner);
  for (const id of ids) {
    const th = document.createElement("th");
    th.scope = "col";
    th.textContent = id;
    head.append(th);
  }
  const body = grid.createTBody();
  for (const slot of sheet.body.slots) {
    const row = body.insertRow();
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = hours(slot.timeSlot);
    row.append(th);
    for (const id of ids) {
      const cell = row.insertCell();
      const booking = slot.bookings.find((b) => (b.tableIds || []).includes(id));
      if (booking) cell.append(...describe(booking));
    }
  }
  $("sheet").replaceChildren(grid);
  if (sheet.body.slots.every((slot) => slot.bookings.length === 0)) {
    const none = document.createElement("p");
    none.className = "muted";
    none.textContent = "No bookings on this day.";
    $("sheet").append(none);
  }
}

/** A booking in a cell: party, name, status, and a cancel button while it stands. */
function describe(booking) {
  const text = document.createElement("div");
  const name = booking.customer ? booking.customer.name : (booking.customerErased ? "(erased)" : "(no name)");
  text.textContent = (booking.people ? booking.people + " · " : "") + name + " · " + booking.status;
  text.className = "booking";
  const parts = [text];
  if (booking.status === "confirmed" || booking.status === "initiated") {
    parts.push(button("Cancel", async () => {
      const answer = await api("POST", "/bookings/" + booking.id + "/cancel", undefined, auth());
      if (answer.status !== 200) { refused(answer, $("sheet")); return; }
      await showSheet();
      const note = document.createElement("p");
      note.className = "message ok";
      note.textContent = "Cancelled the booking of " + name + ".";
      $("sheet").prepend(note);
      $("sheet").focus();
    }, true));
  }
  return parts;
}

async function showTables() {
  const answer = await api("GET", "/tables");
  if (answer.status !== 200) { say($("tables"), explain(answer), "bad"); return; }
  $("tables").replaceChildren(list(answer.body.tables, (t) => t.id + " (" + t.seats + " seats)", (t) => removeTable(t.id)));
  const combos = await api("GET", "/table-combinations");
  if (combos.status !== 200) { say($("combinations"), explain(combos), "bad"); return; }
  $("combinations").replaceChildren(list(combos.body.combinations,
    (c) => c.id + ": " + c.tables.join(" + ") + " (" + c.seats + " seats)", (c) => removeCombination(c.id)));
}

function list(items, label, remove) {
  const ul = document.createElement("ul");
  ul.className = "choices";
  for (const item of items) {
    const li = document.createElement("li");
    const span = document.createElement("span");
    span.textContent = label(item) + " ";
    li.append(span, button("Remove", () => remove(item), true));
    ul.append(li);
  }
  if (items.length === 0) {
    const li = document.createElement("li");
    li.className = "muted";
    li.textContent = "None yet.";
    ul.append(li);
  }
  return ul;
}

async function addTable() {
  const body = { id: $("table-id").value.trim(), seats: Number($("table-seats").value) };
  const answer = await api("POST", "/tables", body, auth());
  if (answer.status !== 201) { refused(answer, $("tables-message")); return; }
  $("table-id").value = "";
  say($("tables-message"), "Added table " + answer.body.id + ".", "ok");
  await showTables();
  showSheet();
}

async function removeTable(id) {
  const answer = await api("DELETE", "/tables/" + encodeURIComponent(id), undefined, auth());
  if (answer.status !== 200) { refused(answer, $("tables-message")); return; }
  say($("tables-message"), "Removed table " + id + ".", "ok");
  await showTables();
}

async function addCombination() {
  const body = {
    id: $("combination-id").value.trim(),
    tables: $("combination-tables").value.split(",").map((t) => t.trim()).filter(Boolean),
    seats: Number($("combination-seats").value),
  };
  const answer = await api("POST", "/table-combinations", body, auth());
  if (answer.status !== 201) { refused(answer, $("combinations-message")); return; }
  say($("combinations-message"), "Added combination " + answer.body.id + ".", "ok");
  await showTables();
}

async function removeCombination(id) {
  const answer = await api("DELETE", "/table-combinations/" + encodeURIComponent(id), undefined, auth());
  if (answer.status !== 200) { refused(answer, $("combinations-message")); return; }
  say($("combinations-message"), "Removed combination " + id + ".", "ok");
  await showTables();
}

async function showReadSide() {
  const answer = await api("GET", "/read-side", undefined, auth());
  if (answer.status !== 200) { refused(answer, $("read-side")); return; }
  const lags = answer.body.streams.map((s) => s.stream + ": " + s.lag + " behind (" + s.applied + " of " + s.last + ")");
  const p = document.createElement("p");
  p.id = "read-side-state";
  p.textContent = "Generation " + answer.body.generation + ". " + lags.join("; ") + ".";
  $("read-side").replaceChildren(p);
}
