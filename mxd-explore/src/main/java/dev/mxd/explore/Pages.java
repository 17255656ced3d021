package dev.mxd.explore;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.List;
import java.util.Locale;

/**
 * The HTML of the explorer's pages, written by code: markup is fixed text, every text from the data goes through
 * {@link Html#text} and every number through {@link #num}. The index and live pages are shells that their scripts
 * fill (from {@code data/index.js} and the server's API, always with {@code textContent}, never as markup).
 */
final class Pages {
    private Pages() {
    }

    private static String head(String title, String root) {
        return "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                + "<title>" + Html.text(title) + "</title>\n"
                + "<link rel=\"stylesheet\" href=\"" + root + "assets/explorer.css\">\n</head>\n<body>\n";
    }

    /** The index: a shell the script {@code assets/index.js} fills from {@code data/index.js}. */
    static String index(String model, int experts, long tokens) {
        return head("Experts of " + model, "")
                + "<header><h1>Experts of <span class=\"model\">" + Html.text(model) + "</span></h1>\n"
                + "<p class=\"meta\">" + String.format(Locale.ROOT, "%,d", experts) + " experts, statistics over "
                + String.format(Locale.ROOT, "%,d", tokens) + " tokens · <a href=\"live.html\">live page</a>"
                + " (with <code>./mxd serve</code>) · <a href=\"https://arxiv.org/abs/2505.21364\">the paper</a></p>"
                + "</header>\n"
                + "<form id=\"controls\" onsubmit=\"return false\">\n"
                + "<label>filter <input id=\"filter\" type=\"search\" placeholder=\"id or label\" size=\"16\"></label>\n"
                + "<label><input id=\"live-only\" type=\"checkbox\"> hide dead experts</label>\n"
                + "<label>rows <select id=\"page-size\"><option>50</option><option selected>100</option>"
                + "<option>500</option></select></label>\n"
                + "<button id=\"prev\" type=\"button\">&larr;</button> <span id=\"page\"></span> "
                + "<button id=\"next\" type=\"button\">&rarr;</button> <span id=\"shown\"></span>\n"
                + "</form>\n"
                + "<table id=\"experts\"><thead><tr>"
                + "<th data-key=\"id\" class=\"num\">expert</th>"
                + "<th data-key=\"frequency\" class=\"num\">frequency</th>"
                + "<th data-key=\"max\" class=\"num\">max</th>"
                + "<th data-key=\"mean\" class=\"num\">mean</th>"
                + "<th data-key=\"label\">label</th>"
                + "<th>values</th></tr></thead>\n<tbody></tbody></table>\n"
                + "<noscript><p>The table needs JavaScript; each expert's page is at experts/&lt;n&gt;.html.</p></noscript>\n"
                + "<script src=\"data/index.js\"></script>\n<script src=\"assets/index.js\"></script>\n"
                + "</body>\n</html>\n";
    }

    /** The live page: a shell {@code assets/live.js} drives against {@code /api/codes} and {@code /api/steer}. */
    static String live(String model, int experts) {
        return head("Live · " + model, "")
                + "<header><h1>Live: <span class=\"model\">" + Html.text(model) + "</span></h1>\n"
                + "<p class=\"meta\"><a href=\"index.html\">all experts</a></p></header>\n"
                + "<p id=\"offline\" class=\"notice\" hidden>This page needs the server: run <code>./mxd serve</code>"
                + " and open the address it prints.</p>\n"
                + "<section><h2>Codes</h2>\n<form id=\"codes-form\">\n"
                + "<textarea id=\"text\" rows=\"3\" cols=\"80\" maxlength=\"4000\">The parliament votes on the"
                + " report today.</textarea><br>\n"
                + "<button id=\"codes\" type=\"submit\">show codes</button> <span id=\"codes-status\"></span>\n"
                + "</form>\n<div id=\"tokens\" class=\"tokens\"></div>\n<div id=\"token-codes\"></div>\n</section>\n"
                + "<section><h2>Steer</h2>\n<form id=\"steer-form\">\n"
                + "<label>expert <input id=\"expert\" type=\"number\" min=\"0\" max=\"" + (experts - 1)
                + "\" value=\"0\"></label>\n"
                + "<label>value <input id=\"value\" type=\"number\" step=\"any\" value=\"10\"></label>\n"
                + "<label>mode <select id=\"mode\"><option>add</option><option>set</option></select></label>\n"
                + "<button id=\"steer\" type=\"submit\">steer</button> <span id=\"steer-status\"></span>\n"
                + "</form>\n<div id=\"steer-result\"></div>\n</section>\n"
                + "<script src=\"assets/live.js\"></script>\n</body>\n</html>\n";
    }

    /** One expert's page. */
    static String expert(Atlas atlas, Atlas.Expert x, double[] edges, String label) {
        int n = x.id();
        StringBuilder b = new StringBuilder(8192);
        b.append(head("Expert " + n + " · " + atlas.model(), "../"));
        b.append("<nav><a href=\"../index.html\">all experts</a>");
        if (n > 0) {
            b.append(" · <a href=\"").append(n - 1).append(".html\">&larr; ").append(n - 1).append("</a>");
        }
        if (n + 1 < atlas.experts()) {
            b.append(" · <a href=\"").append(n + 1).append(".html\">").append(n + 1).append(" &rarr;</a>");
        }
        b.append(" · <a href=\"../live.html?expert=").append(n).append("\">steer it</a></nav>\n");
        b.append("<h1>Expert ").append(n).append("</h1>\n<p class=\"meta\"><span class=\"model\">")
                .append(Html.text(atlas.model())).append("</span></p>\n");
        double frequency = atlas.tokens() == 0 ? 0 : (double) x.count() / atlas.tokens();
        b.append("<dl class=\"stats\">")
                .append("<dt>fires on</dt><dd id=\"count\">").append(String.format(Locale.ROOT, "%,d", x.count()))
                .append(" of ").append(String.format(Locale.ROOT, "%,d", atlas.tokens())).append(" tokens (")
                .append(num(100 * frequency)).append(" %)</dd>")
                .append("<dt>mean value</dt><dd>").append(num(x.mean())).append("</dd>")
                .append("<dt>max value</dt><dd id=\"max\">").append(num(x.max())).append("</dd>");
        if (label != null) {
            b.append("<dt>label</dt><dd class=\"label\">").append(Html.text(label)).append("</dd>");
        }
        b.append("</dl>\n<h2>Values</h2>\n").append(histogram(x.histogram(), edges));
        b.append("<h2>Top contexts</h2>\n");
        contexts(b, x.top(), x.max(), "top", false);
        b.append("<h2>Lower quantiles</h2>\n");
        contexts(b, x.samples(), x.max(), "samples", true);
        b.append("</body>\n</html>\n");
        return b.toString();
    }

    private static void contexts(StringBuilder b, List<Atlas.Example> examples, double max, String id, boolean notes) {
        if (examples.isEmpty()) {
            b.append("<p class=\"empty\">none</p>\n");
            return;
        }
        b.append("<table class=\"contexts\" id=\"").append(id).append("\"><thead><tr><th class=\"num\">value</th>")
                .append(notes ? "<th>quantile</th>" : "")
                .append("<th class=\"num\">doc</th><th class=\"num\">pos</th><th>context</th></tr></thead><tbody>\n");
        for (Atlas.Example e : examples) {
            // The firing token's shade: its value against the expert's largest, so the top row is the darkest.
            double shade = max > 0 ? Math.max(0.15, Math.min(1, e.value() / max)) : 0.15;
            b.append("<tr><td class=\"num\">").append(num(e.value())).append("</td>");
            if (notes) {
                b.append("<td>").append(Html.text(e.note())).append("</td>");
            }
            b.append("<td class=\"num\">").append(e.doc()).append("</td><td class=\"num\">").append(e.pos())
                    .append("</td><td class=\"context\">")
                    .append(Html.text(e.text().substring(0, e.start())))
                    .append("<mark class=\"fire\" style=\"background-color: rgba(230, 90, 0, ")
                    .append(Math.round(shade * 100) / 100.0).append(")\" title=\"").append(num(e.value()))
                    .append("\">").append(Html.text(e.text().substring(e.start(), e.end()))).append("</mark>")
                    .append(Html.text(e.text().substring(e.end()))).append("</td></tr>\n");
        }
        b.append("</tbody></table>\n");
    }

    /**
     * The histogram as inline SVG: one bar per bin from the first non-empty bin to the last, heights by
     * log(1 + count), each bar titled with its range; the axis names the range's ends and middle.
     */
    static String histogram(long[] all, double[] allEdges) {
        int first = 0, last = all.length - 1;
        while (first < last && all[first] == 0) {
            first++;
        }
        while (last > first && all[last] == 0) {
            last--;
        }
        long[] counts = java.util.Arrays.copyOfRange(all, first, last + 1);
        double[] edges = java.util.Arrays.copyOfRange(allEdges, first, last + 2);
        int w = 640, h = 160, left = 8, bottom = 20;
        long top = 0;
        for (long c : counts) {
            top = Math.max(top, c);
        }
        double bar = (double) (w - 2 * left) / counts.length;
        StringBuilder b = new StringBuilder(4096);
        b.append("<svg class=\"histogram\" xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(w)
                .append("\" height=\"").append(h).append("\" viewBox=\"0 0 ").append(w).append(' ').append(h)
                .append("\" role=\"img\" aria-label=\"histogram of the expert's values, log-spaced bins\">\n");
        for (int i = 0; i < counts.length; i++) {
            double height = top == 0 ? 0 : (h - bottom - 4) * Math.log1p(counts[i]) / Math.log1p(top);
            b.append("<rect x=\"").append(tenths(left + i * bar)).append("\" y=\"").append(tenths(h - bottom - height))
                    .append("\" width=\"").append(tenths(Math.max(1, bar - 1))).append("\" height=\"")
                    .append(tenths(height)).append("\">");
            b.append("<title>[").append(num(edges[i])).append(", ").append(num(edges[i + 1])).append("): ")
                    .append(counts[i]).append("</title></rect>\n");
        }
        b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", left, h - bottom,
                w - left, h - bottom));
        int[] ticks = {0, counts.length / 2, counts.length};
        String[] anchors = {"start", "middle", "end"};
        for (int t = 0; t < ticks.length; t++) {
            b.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\">", left + ticks[t] * bar,
                    h - 5, anchors[t])).append(num(edges[ticks[t]])).append("</text>\n");
        }
        b.append("</svg>\n");
        return b.toString();
    }

    /**
     * A number as the pages print it: 4 significant digits, trailing zeros dropped, plain between 1e-4 and 1e6
     * ("0.0123", "1.5", "12340"), else with an exponent ("1.234E+7"). Called for every number of every page, so
     * without {@code String.format}.
     */
    static String num(double v) {
        if (v == 0 || !Double.isFinite(v)) {
            return v == 0 ? "0" : Double.toString(v);
        }
        BigDecimal d = BigDecimal.valueOf(v).round(FOUR).stripTrailingZeros();
        double a = Math.abs(v);
        return a >= 1e-4 && a < 1e6 ? d.toPlainString() : d.toString();
    }

    private static final MathContext FOUR = new MathContext(4, RoundingMode.HALF_EVEN);

    /** {@code v} rounded to tenths, as SVG coordinates are written. */
    static double tenths(double v) {
        return Math.round(v * 10) / 10.0;
    }
}
