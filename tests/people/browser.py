"""Browser tests of the guest and staff pages: Debian's chromium, driven through
chromium-driver by Selenium, against the running system (scripts/people-tests).

    browser.py BASE_URL ADMIN_TOKEN SCREENSHOT_DIR

Each test saves screenshots; the process exits 1 when a test fails.
"""

import datetime
import json
import os
import shutil
import sys
import traceback
import urllib.request
import zoneinfo

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as seen
from selenium.webdriver.support.ui import WebDriverWait

BASE, TOKEN, SHOTS = sys.argv[1], sys.argv[2], sys.argv[3]
ZONE = zoneinfo.ZoneInfo(os.environ.get("RESTAURANT_TIMEZONE", "Europe/Paris"))
os.makedirs(SHOTS, exist_ok=True)
os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium download a driver


def call(method, path, body=None, token=None):
    """The API as a client: (status, JSON body)."""
    request = urllib.request.Request(BASE + path, method=method)
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, data, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def add_tables():
    """Tables of this test's own (the fuzzer before it may have removed others)."""
    for table in ("b1", "b2", "b3"):
        status, answer = call("POST", "/tables", {"id": table, "seats": 4}, token=TOKEN)
        assert status in (201, 409), answer


def local_day(days):
    return (datetime.datetime.now(ZONE) + datetime.timedelta(days=days)).date().isoformat()


def browser(width, height):
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={width},{height}", "--lang=en-GB"):
        options.add_argument(argument)
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    return webdriver.Chrome(options=options, service=Service(executable_path=driver_path))


def set_value(driver, element_id, value):
    """Sets an input's value (a date input's keyboard format depends on the locale)."""
    element = driver.find_element(By.ID, element_id)
    driver.execute_script("arguments[0].value = arguments[1]", element, value)
    return element


def type_into(driver, element_id, text):
    element = driver.find_element(By.ID, element_id)
    element.clear()
    element.send_keys(text)
    return element


def wait_for_text(driver, element_id, text, timeout=15):
    WebDriverWait(driver, timeout).until(seen.text_to_be_present_in_element((By.ID, element_id), text))


def shot(driver, name):
    path = os.path.join(SHOTS, name)
    driver.save_screenshot(path)
    print("  screenshot", path)


def guest_books_sees_the_code_finds_the_booking_and_cancels_it():
    add_tables()
    driver = browser(412, 915)  # a phone's width
    try:
        driver.get(BASE + "/")
        assert "Book a table" in driver.title
        set_value(driver, "day", local_day(3))
        party = type_into(driver, "party", "2")
        party.send_keys(Keys.ENTER)  # the keyboard submits the search
        first_time = WebDriverWait(driver, 15).until(
            seen.element_to_be_clickable((By.CSS_SELECTOR, "#times li button")))
        first_time.send_keys(Keys.ENTER)
        type_into(driver, "name", "Ada Lovelace")
        type_into(driver, "email", "ada.browser@example.com")
        driver.find_element(By.ID, "book").click()
        code = WebDriverWait(driver, 15).until(
            seen.visibility_of_element_located((By.ID, "access-code"))).text
        assert len(code) == 5, code
        assert "Keep this code" in driver.find_element(By.ID, "booked").text
        shot(driver, "guest-booked.png")

        type_into(driver, "find-email", "ada.browser@example.com")
        type_into(driver, "find-code", code.lower())  # codes are case-insensitive
        driver.find_element(By.ID, "find-booking").click()
        wait_for_text(driver, "found", "Confirmed")
        shot(driver, "guest-found.png")
        buttons = driver.find_elements(By.CSS_SELECTOR, "#found button")
        next(b for b in buttons if b.text == "Cancel this booking").click()
        WebDriverWait(driver, 10).until(
            lambda d: any(b.text == "Yes, cancel it" for b in d.find_elements(By.CSS_SELECTOR, "#found button")))
        next(b for b in driver.find_elements(By.CSS_SELECTOR, "#found button") if b.text == "Yes, cancel it").click()
        wait_for_text(driver, "found", "Your booking is cancelled.")
        wait_for_text(driver, "found", "Cancelled")
        shot(driver, "guest-cancelled.png")

        # A wrong code gets words, not a status code.
        type_into(driver, "find-code", "WRONG")
        driver.find_element(By.ID, "find-booking").click()
        wait_for_text(driver, "found", "could not find a booking")
    finally:
        driver.quit()


def staff_adds_a_table_sees_a_booking_in_the_day_sheet_and_cancels_it():
    add_tables()
    day = local_day(4)
    status, slots = call("GET", f"/booking-slots?startDate={day}&endDate={day}&people=2")
    assert status == 200, slots
    slot = slots["availabilities"][0]["slots"][-1]
    body = {"timeSlot": {"from": slot["startTime"], "to": slot["endTime"]}, "people": 2,
            "customer": {"name": "Grace Hopper", "email": "grace.browser@example.com"}}
    status, booking = call("POST", "/bookings?wait=5", body)
    assert status == 201, booking

    driver = browser(1280, 900)
    try:
        driver.get(BASE + "/staff")
        type_into(driver, "token", TOKEN)
        driver.find_element(By.ID, "sign-in-button").click()
        WebDriverWait(driver, 10).until(seen.visibility_of_element_located((By.ID, "signed-in")))
        assert driver.execute_script("return sessionStorage.getItem('restaurant-admin-token')") == TOKEN
        wait_for_text(driver, "read-side", "Generation")

        type_into(driver, "table-id", "t9")
        type_into(driver, "table-seats", "4")
        driver.find_element(By.ID, "add-table").click()
        wait_for_text(driver, "tables-message", "Added table t9")
        wait_for_text(driver, "tables", "t9 (4 seats)")

        set_value(driver, "sheet-day", day)
        driver.find_element(By.ID, "show-sheet").click()
        wait_for_text(driver, "sheet", "Grace Hopper")
        shot(driver, "staff-day-sheet.png")
        cell = driver.find_element(By.XPATH, "//td[.//div[contains(., 'Grace Hopper')]]")
        cell.find_element(By.TAG_NAME, "button").click()
        wait_for_text(driver, "sheet", "Cancelled the booking of Grace Hopper")
        shot(driver, "staff-cancelled.png")
        status, after = call("GET", f"/bookings/{booking['id']}", token=TOKEN)
        assert status == 200 and after["status"] == "cancelled", after
    finally:
        driver.quit()


failed = 0
for test in (guest_books_sees_the_code_finds_the_booking_and_cancels_it,
             staff_adds_a_table_sees_a_booking_in_the_day_sheet_and_cancels_it):
    print("browser test", test.__name__)
    try:
        test()
        print("  ok")
    except Exception:  # noqa: BLE001 - every failure is reported, then the next test runs
        traceback.print_exc()
        failed += 1
print(f"browser tests: {2 - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)
