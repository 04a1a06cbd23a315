// The guest page: free times for a day and a party, booking with name and email, the
// access code shown with what to do with it; finding a booking by email and code, then
// changing or cancelling it.
"use strict";

const $ = (id) => document.getElementById(id);
let chosen = null; // {slot: {from, to}, people}

document.addEventListener("DOMContentLoaded", () => {
  $("day").min = localDate(0);
  $("day").value = localDate(1);
  $("search").addEventListener("submit", (event) => { event.preventDefault(); showTimes(); });
  $("details").addEventListener("submit", (event) => { event.preventDefault(); book(); });
  $("find").addEventListener("submit", (event) => { event.preventDefault(); find(); });
});

/** The free times of a day for a party, as buttons calling `pick(slot)`. */
async function freeTimes(day, people, container, pick) {
  const query = new URLSearchParams({ startDate: day, endDate: day, people: String(people) });
  const answer = await api("GET", "/booking-slots?" + query);
  if (answer.status !== 200) { say(container, explain(answer), "bad"); return; }
  const slots = (answer.body.availabilities[0] || { slots: [] }).slots;
  container.replaceChildren();
  if (slots.length === 0) {
    say(container, "No table is free for " + people + " on that day. Please try another day.", "bad");
    return;
  }
  const list = document.createElement("ul");
  list.className = "choices";
  list.setAttribute("aria-label", "Free times");
  for (const slot of slots) {
    const range = { from: slot.startTime, to: slot.endTime };
    const joined = slot.availableTables.length === 0 ? " (joined tables)" : "";
    const item = document.createElement("li");
    item.append(button(hours(range) + joined, () => pick(range)));
    list.append(item);
  }
  container.append(list);
}

async function showTimes() {
  const people = Number($("party").value);
  $("details").hidden = true;
  $("booked").replaceChildren();
  await freeTimes($("day").value, people, $("times"), (slot) => choose(slot, people));
}

function choose(slot, people) {
  chosen = { slot, people };
  $("chosen").textContent = "Table for " + people + " on " + when(slot) + ".";
  $("details").hidden = false;
  $("name").focus();
}

async function book() {
  if (!chosen) return;
  const body = {
    timeSlot: chosen.slot,
    people: chosen.people,
    customer: { name: $("name").value, email: $("email").value },
  };
  const answer = await api("POST", "/bookings?wait=5", body);
  const booking = answer.status === 409 ? null : answer.body;
  if (answer.status === 201 || answer.status === 202) {
    showCode(booking, answer.status === 202);
    $("details").hidden = true;
    $("times").replaceChildren();
  } else if (answer.status === 409) {
    const message = say($("booked"), explain(answer), "bad");
    offer($("booked"), answer.body.alternatives, chosen.people, message);
  } else {
    say($("booked"), explain(answer), "bad");
  }
}

/** The access code, large, with what it is for. */
function showCode(booking, pending) {
  const box = $("booked");
  box.replaceChildren();
  const done = document.createElement("p");
  done.className = "message ok";
  done.textContent = (pending ? "We are confirming your table for " : "Your table is booked for ") +
    booking.people + " on " + when(booking.timeSlot) + ".";
  const code = document.createElement("p");
  code.innerHTML = "Your access code: <br>";
  const strong = document.createElement("strong");
  strong.className = "code";
  strong.id = "access-code";
  strong.textContent = booking.accessCode;
  code.append(strong);
  const keep = document.createElement("p");
  keep.textContent = "Keep this code. With your email it lets you find, change or cancel this booking below. We show it only now.";
  box.append(done, code, keep);
  box.focus();
}

/** Other times where the party fits, as buttons. */
function offer(container, alternatives, people, after) {
  if (!alternatives || alternatives.length === 0) return;
  const intro = document.createElement("p");
  intro.textContent = "These times are free for " + people + ":";
  const list = document.createElement("ul");
  list.className = "choices";
  for (const alternative of alternatives) {
    const item = document.createElement("li");
    item.append(button(when(alternative.timeSlot), () => choose(alternative.timeSlot, people)));
    list.append(item);
  }
  after.after(intro, list);
}

let found = null; // {booking, email, code}

async function find() {
  const email = $("find-email").value, code = $("find-code").value.trim();
  const answer = await api("POST", "/bookings/lookup", { email, accessCode: code });
  if (answer.status === 404) {
    say($("found"), "We could not find a booking with that email and access code. Please check both.", "bad");
    return;
  }
  if (answer.status !== 200) { say($("found"), explain(answer), "bad"); return; }
  found = { booking: answer.body, email, code };
  showFound();
}

const STATUS = { confirmed: "Confirmed", initiated: "Being confirmed", cancelled: "Cancelled", rejected: "Not booked" };

function showFound(note) {
  const booking = found.booking, box = $("found");
  box.replaceChildren();
  if (note) {
    const p = document.createElement("p");
    p.className = "message ok";
    p.textContent = note;
    box.append(p);
  }
  const details = document.createElement("dl");
  const rows = [
    ["When", when(booking.timeSlot)],
    ["People", String(booking.people || "")],
    ["Table", (booking.tableIds || []).join(" + ")],
    ["Status", STATUS[booking.status] || booking.status],
  ];
  if (booking.pendingChange) rows.push(["Change asked", when(booking.pendingChange.timeSlot) + ", being confirmed"]);
  for (const [term, value] of rows) {
    const dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = term; dd.textContent = value;
    details.append(dt, dd);
  }
  details.id = "booking-details";
  box.append(details);
  if (booking.status === "confirmed" && new Date(booking.timeSlot.from) > new Date()) {
    const actions = document.createElement("div");
    actions.className = "choices";
    actions.append(button("Change this booking", startChange, true), button("Cancel this booking", askCancel, true));
    box.append(actions);
  }
  box.focus();
}

function askCancel() {
  const box = $("found");
  const question = document.createElement("p");
  question.textContent = "Cancel your booking for " + when(found.booking.timeSlot) + "?";
  const actions = document.createElement("div");
  actions.className = "choices";
  actions.append(button("Yes, cancel it", cancel), button("No, keep it", () => showFound(), true));
  box.append(question, actions);
  actions.querySelector("button").focus();
}

async function cancel() {
  const path = "/bookings/" + found.booking.id + "/cancel";
  const answer = await api("POST", path, { accessCode: found.code });
  if (answer.status !== 200) { say($("found"), explain(answer), "bad"); return; }
  found.booking = answer.body;
  showFound("Your booking is cancelled.");
}

function startChange() {
  const box = $("found");
  const form = document.createElement("form");
  form.className = "row";
  form.innerHTML = '<label for="change-day">New day</label><input id="change-day" type="date" required>' +
    '<label for="change-party">People</label><input id="change-party" type="number" min="1" max="50" required>' +
    '<button type="submit">Show free times</button>';
  const times = document.createElement("div");
  times.setAttribute("aria-live", "polite");
  box.append(form, times);
  const day = form.querySelector("#change-day"), party = form.querySelector("#change-party");
  day.min = localDate(0);
  day.value = localDate(1);
  party.value = found.booking.people || 2;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const people = Number(party.value);
    freeTimes(day.value, people, times, (slot) => change(slot, people, times));
  });
  day.focus();
}

async function change(slot, people, container) {
  const path = "/bookings/" + found.booking.id + "/change?wait=5";
  const answer = await api("POST", path, { accessCode: found.code, timeSlot: slot, people });
  if (answer.status === 200 || answer.status === 202) {
    found.booking = answer.body;
    showFound(answer.status === 200 ? "Your booking is changed." : "We are confirming your change.");
  } else {
    const message = say(container, explain(answer), "bad");
    if (answer.status === 409 && answer.body.alternatives) {
      const intro = document.createElement("p");
      intro.textContent = "These times are free for " + people + ":";
      const list = document.createElement("ul");
      list.className = "choices";
      for (const alternative of answer.body.alternatives) {
        const item = document.createElement("li");
        item.append(button(when(alternative.timeSlot), () => change(alternative.timeSlot, people, container)));
        list.append(item);
      }
      message.after(intro, list);
    }
  }
}
