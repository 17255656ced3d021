package dev.mxd.explore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SiteWriterTest {
    @TempDir
    Path tmp;

    @Test
    void writesEveryPageAndEscapesEveryText() throws Exception {
        Path site = tmp.resolve("site");
        SiteWriter.Summary s = SiteWriter.write(Fixtures.atlas(), Fixtures.labels(), site);
        assertEquals(Fixtures.EXPERTS, s.experts());
        for (String f : List.of("index.html", "live.html", "data/index.js", "assets/index.js", "assets/live.js",
                "assets/explorer.css", SiteWriter.MARKER)) {
            assertTrue(Files.isRegularFile(site.resolve(f)), f);
        }
        try (Stream<Path> pages = Files.list(site.resolve("experts"))) {
            assertEquals(Fixtures.EXPERTS, pages.count());
        }
        assertEquals("rwxr-xr-x", java.nio.file.attribute.PosixFilePermissions.toString(
                Files.getPosixFilePermissions(site)), "the site is readable as a directory made by mkdir");
        String hostile = Files.readString(site.resolve("experts/" + Fixtures.HOSTILE + ".html"));
        assertFalse(hostile.contains("<script>"), "a document's <script> reached the page as markup");
        assertFalse(hostile.contains("<img"), "a document's <img> reached the page as markup");
        assertTrue(hostile.contains("&lt;script&gt;window.__pwned = 1; alert(&#39;pwned&#39;)&lt;/script&gt;"));
        assertTrue(hostile.contains("&quot;&gt;&lt;img src=x onerror=&quot;window.__pwned = 2&quot; id=injected&gt;"));
        // The firing token of the second context is the hostile one: inside the mark, escaped.
        assertTrue(hostile.contains("\">&quot;&gt;&lt;img src=x"), hostile);
        assertTrue(hostile.contains("<dd class=\"label\">fr &quot;&gt;&lt;img"));
        assertTrue(hostile.contains("model &lt;b&gt;bold&lt;/b&gt;"));
        assertFalse(Files.readString(site.resolve("index.html")).contains("<b>"));
        String data = Files.readString(site.resolve("data/index.js"));
        assertFalse(data.contains("<"), "the data script holds a raw '<'");
        assertTrue(data.contains("\\u003cimg src=x"));
    }

    @Test
    void theExpertPageShowsStatisticsHistogramAndContexts() throws Exception {
        Path site = tmp.resolve("site");
        SiteWriter.write(Fixtures.atlas(), Map.of(), site);
        String page = Files.readString(site.resolve("experts/7.html"));
        assertTrue(page.contains("<dd id=\"count\">70 of 1,000 tokens (7 %)</dd>"), page);
        assertTrue(page.contains("<dd id=\"max\">7</dd>"));
        assertEquals(Fixtures.EDGES.length - 1, count(page, "<rect "));
        assertEquals(4, count(page, "<mark class=\"fire\""), "3 top contexts + 1 sample, each marked once");
        assertTrue(page.contains(">report7</mark> today"));
        assertTrue(page.contains("quantile 0.25"));
        assertTrue(page.contains("href=\"6.html\"") && page.contains("href=\"8.html\""));
        String dead = Files.readString(site.resolve("experts/0.html"));
        assertTrue(dead.contains("<p class=\"empty\">none</p>"));
        assertFalse(dead.contains("href=\"-1.html\""));
    }

    private static int count(String s, String what) {
        int n = 0;
        for (int at = s.indexOf(what); at >= 0; at = s.indexOf(what, at + 1)) {
            n++;
        }
        return n;
    }

    @Test
    void replacesAnOldSiteButNoOtherDirectory() throws Exception {
        Path site = tmp.resolve("site");
        SiteWriter.write(Fixtures.atlas(), Map.of(), site);
        Files.writeString(site.resolve("stale.html"), "old");
        SiteWriter.write(Fixtures.atlas(), Map.of(), site);
        assertFalse(Files.exists(site.resolve("stale.html")));
        Path other = Files.createDirectories(tmp.resolve("notes"));
        Files.writeString(other.resolve("keep.txt"), "mine");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> SiteWriter.write(Fixtures.atlas(), Map.of(), other));
        assertTrue(e.getMessage().contains("is not an explorer site"), e.getMessage());
        assertEquals("mine", Files.readString(other.resolve("keep.txt")));
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(List.of("notes", "site"), left.map(p -> p.getFileName().toString()).sorted().toList(),
                    "no temporary directory is left beside the site");
        }
    }

    @Test
    void sparkLevelsFollowTheCounts() {
        // 1 + round(8·log(1 + c) / log(256)): 1 → 2, 15 → 5, 255 → 9.
        assertEquals("0259", SiteWriter.spark(new long[]{0, 1, 15, 255}));
        assertEquals("000", SiteWriter.spark(new long[3]));
    }

    @Test
    void escapingCoversTheFiveCharacters() {
        assertEquals("&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;", Html.text("<a href=\"x\" title='y'>&"));
        assertEquals("plain", Html.text("plain"));
        assertEquals("{\"a\":\"\\u003c/script>\"}", Html.scriptJson("{\"a\":\"</script>\"}"));
    }
}
