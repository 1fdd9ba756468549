"""The built book: Jupyter Book 1 with zero warnings, then pages checked in a real (headless) browser.

The browser has no network: any request that leaves the file system is refused and recorded, so maths
and widgets must render from the book's own ``_static`` (MathJax, require.js and the widget manager
come from npm at build time; see the Makefile's ``vendor`` target).
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
BROWSER_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="module")
def built_book() -> Path:
    jb = Path(sys.executable).with_name("jupyter-book")
    run = subprocess.run([jb, "build", ".", "-W", "-n", "--keep-going"], cwd=ROOT, capture_output=True, text=True)
    log = run.stdout + run.stderr
    assert run.returncode == 0 and "WARNING" not in log, f"book build failed or warned:\n{log[-5000:]}"
    return HTML


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "Chromium is needed for the browser test: apt-get install chromium (see README.md)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=BROWSER_ARGS)
        yield b
        b.close()


def open_offline(browser, path: Path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    outside = []

    def route(r):
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.goto(path.as_uri(), wait_until="load")
    return page, outside


def test_book_builds_without_warnings(built_book):
    assert (built_book / "index.html").exists()


def test_index_has_preface_numbered_toc_and_sidebar(built_book, browser):
    page, outside = open_offline(browser, built_book / "index.html")
    assert "Preface" in page.inner_text("main")
    sidebar = page.locator("nav.bd-docs-nav")
    assert sidebar.is_visible()
    assert "1. Mutual information" in sidebar.inner_text()
    assert not outside, f"requests left the machine: {outside}"
    page.screenshot(path=str(ROOT / "_build" / "screenshot-index.png"))


def test_chapter_maths_figures_widgets_and_colab(built_book, browser):
    page, outside = open_offline(browser, built_book / "book" / "mutual_information.html")
    page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise")
    page.evaluate("MathJax.startup.promise")
    assert page.locator("mjx-container").count() > 10, "MathJax did not typeset the page"
    text = page.inner_text("main")
    assert "\\(" not in text and "$$" not in text and "\\frac" not in text, "raw LaTeX left on the page"
    figures = page.locator(".cell_output img")
    assert figures.count() >= 3
    assert page.evaluate("el => el.naturalWidth", figures.first.element_handle()) > 100
    assert page.locator("a[href*='colab.research.google.com']").count() >= 1
    slider = page.locator(".widget-slider").first
    slider.wait_for(state="visible", timeout=20_000)
    page.screenshot(path=str(ROOT / "_build" / "screenshot-chapter.png"), full_page=False)
    assert not outside, f"requests left the machine: {outside}"


def visible_widget_image(page) -> str:
    return page.evaluate(
        """() => [...document.querySelectorAll('.jupyter-widgets img')]
               .filter(i => i.offsetParent !== null).map(i => i.src.slice(-80)).join('|')"""
    )


@pytest.mark.parametrize("chapter", ["mutual_information", "mine_algorithm", "gaussians"])
def test_static_slider_switches_the_figure(built_book, browser, chapter):
    page, outside = open_offline(browser, built_book / "book" / f"{chapter}.html")
    handle = page.locator(".widget-slider .noUi-handle").first
    handle.wait_for(state="visible", timeout=20_000)
    handle.scroll_into_view_if_needed()
    before = visible_widget_image(page)
    assert before, "no visible figure in the widget"
    handle.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(300)
    after = visible_widget_image(page)
    page.screenshot(path=str(ROOT / "_build" / f"screenshot-slider-{chapter}.png"))
    assert after and after != before, "moving the slider did not change the figure"
    assert not outside, f"requests left the machine: {outside}"


@pytest.mark.parametrize(
    "chapter", ["mutual_information", "donsker_varadhan", "mine_algorithm", "consistency", "gaussians", "nonlinear"]
)
def test_phone_width_equations_stay_in_the_column_and_setup_is_hidden(built_book, browser, chapter):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
    page.goto((built_book / "book" / f"{chapter}.html").as_uri(), wait_until="load")
    page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise")
    page.evaluate("MathJax.startup.promise")
    overflowing = page.evaluate(
        """() => {
            const column = document.querySelector('main').getBoundingClientRect().right;
            return [...document.querySelectorAll('mjx-container[display="true"]')]
                .filter(e => e.getBoundingClientRect().right > column + 1)
                .map(e => e.textContent.slice(0, 60));
        }"""
    )
    assert page.locator('mjx-container[display="true"]').count() > 0
    assert not overflowing, f"display equations overflow the column at 390 px: {overflowing}"
    setup = page.locator(".cell.tag_hide-input").first
    assert setup.count() == 1, "the set-up cell is not tagged hide-input"
    assert not setup.locator(".cell_input").first.is_visible(), "the set-up code is shown in full"
    if chapter == "donsker_varadhan":
        page.screenshot(path=str(ROOT / "_build" / "screenshot-phone.png"), full_page=False)
