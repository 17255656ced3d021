package dev.mxd.explore;

import dev.mxd.Backends;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The explorer's figures (docs/PERFORMANCE.md): the site of a synthetic atlas of N experts written to disk, the
 * index's first render in headless Chromium from {@code file://}, and, given a trained model of the real layer and
 * its activation directory, the live {@code codes} request for a 128-token text once warm.
 *
 * <pre>tools/run-test-main mxd-explore dev.mxd.explore.ExplorerTiming OUTDIR [N [MODEL DATA [SITE EXPERT]]]</pre>
 * With a SITE that {@code ./mxd explore} wrote, also screenshots of its index sorted by frequency and of one
 * expert's page (under {@code mxd-explore/target/screenshots} unless {@code -Dmxd.explore.artifacts} says).
 */
public final class ExplorerTiming {
    private ExplorerTiming() {
    }

    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[0]);
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 21_490;
        Files.createDirectories(out);
        Path site = out.resolve("site");
        SiteWriter.Summary s = SiteWriter.write(SyntheticAtlas.of(n, 20, 20_149), Map.of(7, "de", 11, "fr"), site);
        System.out.printf(Locale.ROOT, "site: %,d experts written in %.1f s (%s)%n", s.experts(), s.seconds(), site);
        WebDriver driver = Browser.start(out.resolve("profile"));
        try {
            for (int run = 0; run < 3; run++) {
                driver.get(site.resolve("index.html").toUri().toString());
                new WebDriverWait(driver, Duration.ofSeconds(60)).until(
                        d -> d.findElement(By.tagName("html")).getDomAttribute("data-rendered-ms") != null);
                String rendered = driver.findElement(By.tagName("html")).getDomAttribute("data-rendered-ms");
                long start = System.nanoTime();
                driver.findElement(By.cssSelector("th[data-key=frequency]")).click();
                String sorted = driver.findElement(By.tagName("html")).getDomAttribute("data-refresh-ms");
                double roundTrip = (System.nanoTime() - start) / 1e6;
                driver.findElement(By.id("filter")).sendKeys("de");
                String filtered = driver.findElement(By.tagName("html")).getDomAttribute("data-refresh-ms");
                System.out.printf(Locale.ROOT, "index: first page rendered %s ms after navigation started; sort by"
                        + " frequency %s ms in the page (%.0f ms with the driver's round trip); filter %s ms%n",
                        rendered, sorted, roundTrip, filtered);
            }
            Browser.screenshot(driver, "index-" + n);
            if (args.length > 5) {
                Path real = Path.of(args[4]);
                driver.get(real.resolve("index.html").toUri().toString());
                driver.findElement(By.cssSelector("th[data-key=frequency]")).click();
                Browser.screenshot(driver, "real-index");
                driver.get(real.resolve("experts/" + args[5] + ".html").toUri().toString());
                Browser.screenshot(driver, "real-expert-" + args[5]);
            }
        } finally {
            driver.quit();
        }
        if (args.length > 3) {
            live(site, Path.of(args[2]), Path.of(args[3]));
        }
    }

    private static void live(Path site, Path model, Path data) throws Exception {
        long t0 = System.nanoTime();
        try (LiveSession session = LiveSession.open(model, data, -1, 200, Backends.select());
             ExplorerServer server = ExplorerServer.start(site, session.live(),
                     new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4)) {
            System.out.printf(Locale.ROOT, "live: ready in %.1f s%n", (System.nanoTime() - t0) / 1e9);
            // 126 words of Europarl-like text: 128 tokens with [CLS] and [SEP] once the tokenizer cuts it.
            String text = ("The Commission has presented its proposal on the budget and the committee will vote on"
                    + " the amendments next week in Strasbourg. ").repeat(12);
            HttpClient client = HttpClient.newHttpClient();
            URI codes = server.uri().resolve("api/codes");
            String body = "{\"text\": \"" + text + "\"}";
            double[] ms = new double[30];
            for (int i = 0; i < 10 + ms.length; i++) {
                long start = System.nanoTime();
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(codes)
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 200) {
                    throw new IllegalStateException(r.body());
                }
                if (i >= 10) {
                    ms[i - 10] = (System.nanoTime() - start) / 1e6;
                }
                if (i == 0) {
                    System.out.println("live: " + session.live().codes(text).size() + " tokens per request");
                }
            }
            Arrays.sort(ms);
            System.out.printf(Locale.ROOT, "live: codes request, 30 after 10 warm-up: median %.1f ms, max %.1f ms%n",
                    ms[ms.length / 2], ms[ms.length - 1]);
            String steer = "{\"text\": \"" + text + "\", \"expert\": 3, \"value\": 20, \"mode\": \"add\"}";
            double[] st = new double[10];
            for (int i = 0; i < 13; i++) {
                long start = System.nanoTime();
                client.send(HttpRequest.newBuilder(server.uri().resolve("api/steer"))
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(steer))
                        .build(), HttpResponse.BodyHandlers.ofString());
                if (i >= 3) {
                    st[i - 3] = (System.nanoTime() - start) / 1e6;
                }
            }
            Arrays.sort(st);
            System.out.printf(Locale.ROOT, "live: steer request, 10 after 3 warm-up: median %.1f ms%n", st[5]);
        }
    }
}
