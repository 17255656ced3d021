package dev.mxd.explore;

/**
 * The one escaping helper of the explorer's pages. Every text that comes from data (documents, tokens, labels,
 * model names, paths) reaches HTML through {@link #text} and reaches a script through {@link #scriptJson}; the
 * page code writes markup only around escaped text, never around raw data.
 */
public final class Html {
    private Html() {
    }

    /**
     * {@code s} escaped for an HTML text node or a quoted attribute value: {@code & < > " '} become entities, so a
     * document holding {@code <script>} or {@code "><img onerror=...>} shows as those characters.
     */
    public static String text(String s) {
        StringBuilder b = null;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            String r = switch (c) {
                case '&' -> "&amp;";
                case '<' -> "&lt;";
                case '>' -> "&gt;";
                case '"' -> "&quot;";
                case '\'' -> "&#39;";
                default -> null;
            };
            if (r != null && b == null) {
                b = new StringBuilder(s.length() + 16).append(s, 0, i);
            }
            if (b != null) {
                if (r != null) {
                    b.append(r);
                } else {
                    b.append(c);
                }
            }
        }
        return b == null ? s : b.toString();
    }

    /**
     * JSON text made safe to embed in a script: every {@code <} becomes {@code \u003c}, so no string in it can close
     * a {@code <script>} element or open a comment. In JSON a {@code <} can only stand inside a string, where the
     * escape reads back as the same character.
     */
    public static String scriptJson(String json) {
        return json.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029");
    }
}
