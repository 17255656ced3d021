package dev.mxd.explore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.WebDriverWait;

/** The pages in headless Chromium: the index sorts and filters, expert pages mark tokens, the live page answers. */
class ExplorerBrowserTest {
    @TempDir
    static Path tmp;
    static Path site;
    static WebDriver driver;
    static Fixtures.Live live;
    static ExplorerServer server;

    @BeforeAll
    static void start() throws Exception {
        driver = Browser.start(tmp.resolve("profile"));
        site = tmp.resolve("site");
        SiteWriter.write(Fixtures.atlas(), Fixtures.labels(), site);
        live = Fixtures.live();
        server = ExplorerServer.start(site, live.live(), new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4);
    }

    @AfterAll
    static void stop() {
        if (driver != null) {
            driver.quit();
        }
        if (server != null) {
            server.close();
        }
        if (live != null) {
            live.close();
        }
    }

    static WebDriverWait waiting() {
        return new WebDriverWait(driver, Duration.ofSeconds(20));
    }

    /** The ids in the index's first column, top to bottom. */
    static List<String> ids() {
        return driver.findElements(By.cssSelector("#experts tbody tr td:first-child")).stream()
                .map(WebElement::getText).toList();
    }

    /** Nothing from a hostile document ran or entered the page as an element. */
    static void assertNothingInjected() {
        assertNull(((JavascriptExecutor) driver).executeScript("return window.__pwned === undefined ? null"
                + " : window.__pwned"), "a document's script ran");
        assertTrue(driver.findElements(By.id("injected")).isEmpty(), "a document's <img> entered the page");
        assertTrue(driver.findElements(By.cssSelector("body script:not([src])")).isEmpty(), "an inline script");
    }

    @Test
    void theIndexListsSortsAndFiltersFromAFile() throws Exception {
        driver.get(site.resolve("index.html").toUri().toString());
        waiting().until(d -> d.findElement(By.tagName("html")).getDomAttribute("data-rendered-ms") != null);
        assertEquals(Fixtures.EXPERTS, ids().size());
        assertEquals("0", ids().getFirst());
        driver.findElement(By.cssSelector("th[data-key=frequency]")).click();
        assertEquals(List.of("23", "22", "21"), ids().subList(0, 3), "frequency, highest first");
        driver.findElement(By.cssSelector("th[data-key=frequency]")).click();
        assertEquals("0", ids().getFirst(), "frequency, lowest first");
        driver.findElement(By.id("live-only")).click();
        assertEquals(Fixtures.EXPERTS - 1, ids().size(), "the dead expert 0 hidden");
        driver.findElement(By.id("filter")).sendKeys("de");
        assertEquals(List.of("2", "5"), ids());
        driver.findElement(By.id("filter")).clear();
        driver.findElement(By.id("filter")).sendKeys("fr");
        WebElement label = driver.findElement(By.cssSelector("#experts tbody td.label"));
        assertEquals("fr " + Fixtures.IMG, label.getText(), "the hostile label shows as text");
        assertEquals(1, driver.findElements(By.cssSelector("#experts tbody tr svg.spark")).size());
        assertNothingInjected();
        Browser.screenshot(driver, "index");
        driver.findElement(By.linkText(Integer.toString(Fixtures.HOSTILE))).click();
        waiting().until(d -> d.getTitle().startsWith("Expert " + Fixtures.HOSTILE));
    }

    @Test
    void anExpertPageMarksTheFiringTokensAndShowsHostileTextAsText() throws Exception {
        driver.get(site.resolve("experts/7.html").toUri().toString());
        List<WebElement> marks = driver.findElements(By.cssSelector("#top mark.fire"));
        assertEquals(3, marks.size());
        for (WebElement m : marks) {
            assertEquals("report7", m.getText());
            assertTrue(m.getCssValue("background-color").startsWith("rgba(230, 90, 0"), m.getCssValue("background-color"));
        }
        assertEquals(Fixtures.EDGES.length - 1, driver.findElements(By.cssSelector("svg.histogram rect")).size());
        Browser.screenshot(driver, "expert");

        driver.get(site.resolve("experts/" + Fixtures.HOSTILE + ".html").toUri().toString());
        List<WebElement> contexts = driver.findElements(By.cssSelector("#top td.context"));
        assertTrue(contexts.get(0).getText().contains(Fixtures.SCRIPT), contexts.get(0).getText());
        assertEquals(Fixtures.IMG, driver.findElements(By.cssSelector("#top mark.fire")).get(1).getText());
        assertTrue(driver.findElement(By.cssSelector("#samples td.context")).getText().contains(Fixtures.SCRIPT));
        assertEquals("fr " + Fixtures.IMG, driver.findElement(By.cssSelector("dd.label")).getText());
        assertNothingInjected();
        Browser.screenshot(driver, "expert-hostile");
    }

    @Test
    void theLivePageShowsCodesAndASteeringResult() throws Exception {
        driver.get(server.uri().resolve("live.html?expert=5").toString());
        WebElement text = driver.findElement(By.id("text"));
        text.clear();
        text.sendKeys("the Parliament votes on the <b>report</b> today");
        driver.findElement(By.id("codes")).click();
        waiting().until(d -> d.findElements(By.cssSelector("#tokens .token")).size() == 7);
        List<WebElement> tokens = driver.findElements(By.cssSelector("#tokens .token"));
        assertEquals("Parliament", tokens.get(1).getText());
        assertEquals("<b>report</b>", tokens.get(5).getText(), "the typed markup shows as text");
        tokens.get(1).click();
        List<WebElement> rows = driver.findElements(By.cssSelector("#codes-table tr td:first-child a"));
        assertFalse(rows.isEmpty());
        assertTrue(rows.getFirst().getDomAttribute("href").startsWith("experts/"));
        assertTrue(tokens.get(1).getDomAttribute("title").matches("\\d+: .*"), tokens.get(1).getDomAttribute("title"));
        assertEquals("5", driver.findElement(By.id("expert")).getDomProperty("value"), "the expert from ?expert=5");
        WebElement value = driver.findElement(By.id("value"));
        value.clear();
        value.sendKeys("60");
        driver.findElement(By.id("steer")).click();
        waiting().until(d -> !d.findElements(By.id("steer-cosine")).isEmpty());
        assertTrue(driver.findElement(By.id("steer-cosine")).getText().matches(
                "expert 5 add 60: cosine of the steered to the unsteered embedding -?\\d\\.\\d{6}"),
                driver.findElement(By.id("steer-cosine")).getText());
        assertEquals(2 * LiveModel.NEAREST, driver.findElements(By.cssSelector("ol.docs li")).size());
        assertNothingInjected();
        Browser.screenshot(driver, "live");

        // A request the server refuses: its message, on the page.
        text.clear();
        driver.findElement(By.id("steer")).click();
        waiting().until(d -> d.findElement(By.id("steer-status")).getText().equals("the text is empty"));
        assertEquals("error", driver.findElement(By.id("steer-status")).getDomAttribute("class"));
    }

    @Test
    void theLivePageFromAFileSaysItNeedsTheServer() {
        driver.get(site.resolve("live.html").toUri().toString());
        assertTrue(driver.findElement(By.id("offline")).isDisplayed());
        assertFalse(driver.findElement(By.id("codes")).isEnabled());
    }
}
