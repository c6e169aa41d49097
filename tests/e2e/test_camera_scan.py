"""Scanning a paper certificate's QR code with the camera on /verify, in headless Chromium.

Chromium's fake camera plays a Y4M file showing the certificate's QR code. Linux Chromium has no
BarcodeDetector, so this exercises the path for such browsers: frames go to /verify/scan.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import qrcode
from PIL import Image

from tests.e2e.conftest import CHROMIUM
from tests.e2e.test_qr_landing import scanned  # noqa: F401 - the fixture

WIDTH, HEIGHT = 640, 480


def _y4m(text: str, path: Path) -> None:
    """A few seconds of 640x480 video (I420) showing a QR code of ``text`` on white paper."""
    code = qrcode.make(text, box_size=5, border=4).get_image().convert("L")
    frame = Image.new("L", (WIDTH, HEIGHT), 255)
    frame.paste(code, ((WIDTH - code.width) // 2, (HEIGHT - code.height) // 2))
    luma = frame.tobytes()
    chroma = bytes([128]) * (WIDTH * HEIGHT // 4)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(30):
            out.write(b"FRAME\n" + luma + chroma + chroma)


def _camera_browser(playwright: Any, *flags: str) -> Any:
    """A fake camera needs Chromium flags of its own: a browser of these tests' own, launched
    from the process's one Playwright (its sync API cannot be started twice in one process)."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=["--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream",
              "--use-fake-device-for-media-stream", *flags],
    )  # fmt: skip


def test_camera_scan_opens_the_certificate_and_checks_its_fragment(
    live_server: str,
    scanned: tuple[str, str],  # noqa: F811 - the fixture imported above
    tmp_path: Path,
    playwright: Any,
) -> None:
    serial, fragment = scanned
    video = tmp_path / "qr.y4m"
    _y4m(f"{live_server}/v/{serial}#{fragment}", video)
    browser = _camera_browser(playwright, f"--use-file-for-fake-video-capture={video}")
    try:
        context = browser.new_context()
        context.grant_permissions(["camera"], origin=live_server)
        page = context.new_page()
        page.goto(live_server + "/verify")
        page.click("#scan-start")
        page.wait_for_url(f"{live_server}/v/{serial}#AM1.*", timeout=20_000)
        page.wait_for_selector("#qr-check .qr-result:has-text('genuine')")
        assert "matches this certificate" in page.locator("#qr-check").inner_text()
    finally:
        browser.close()


# Android Chrome and others read QR codes on the device with BarcodeDetector, which Linux
# Chromium lacks. The page's use of it is tested with a stand-in that reports what a detector
# would read: the frame never leaves the device on this path.
_DETECTOR = """
window.BarcodeDetector = class {
  static getSupportedFormats() { return Promise.resolve(["qr_code"]); }
  constructor(options) { this.options = options; }
  detect(source) {
    const ready = source && source.readyState >= 2 && source.videoWidth > 0;
    return Promise.resolve(ready ? [{ rawValue: window.__qrText, format: "qr_code" }] : []);
  }
};
"""


def test_on_device_detector_path_never_sends_frames(
    live_server: str,
    scanned: tuple[str, str],  # noqa: F811 - the fixture imported above
    playwright: Any,
) -> None:
    serial, fragment = scanned
    browser = _camera_browser(playwright)
    try:
        context = browser.new_context()
        context.grant_permissions(["camera"], origin=live_server)
        context.add_init_script(
            f"window.__qrText = {live_server + '/v/' + serial + '#' + fragment!r};" + _DETECTOR
        )
        page = context.new_page()
        seen: list[str] = []
        page.on("request", lambda r: seen.append(r.url + (r.post_data or "")))
        page.goto(live_server + "/verify")
        page.click("#scan-start")
        page.wait_for_url(f"{live_server}/v/{serial}#AM1.*", timeout=20_000)
        page.wait_for_selector("#qr-check .qr-result:has-text('genuine')")
        assert not any("/verify/scan" in url for url in seen)
        assert not any("AM1." in url for url in seen), "the fragment never leaves the device"
    finally:
        browser.close()
