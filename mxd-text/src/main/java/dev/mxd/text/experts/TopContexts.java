package dev.mxd.text.experts;

import dev.mxd.checkpoint.AtomicWrite;
import dev.mxd.checkpoint.Json;
import dev.mxd.text.harvest.Corpus;
import dev.mxd.text.harvest.Provenance;
import dev.mxd.text.minilm.MiniLmTokenizer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;

/**
 * Top-activating contexts of every expert (DESIGN §7, "Reading the experts"): its M highest firings with their
 * provenance ({@code doc}, {@code pos}, {@code token}, {@code value}) and the document's own text around the token
 * (cased, as written, cut at the tokenizer's character offsets, {@link #CONTEXT_TOKENS} tokens each side), plus a
 * few firings sampled at lower quantiles of its values ({@link #QUANTILES}), as feature dashboards show them.
 *
 * <p>File ({@link #write}, {@link #read}): JSON Lines, UTF-8. Line 1 is a header object ({@code format},
 * {@code experts}, {@code m}, {@code tokens} and what was measured: {@code model}, {@code data}, {@code split},
 * ...); line n + 2 is expert n's object, {@link Expert#toJson()}.
 */
public final class TopContexts {
    /** The header's {@code format}. */
    public static final String FORMAT = "mxd-top-contexts/1";
    /** Tokens of context on each side of the firing token (fewer at a document's ends). */
    public static final int CONTEXT_TOKENS = 10;
    /** The default number of examples per expert. */
    public static final int DEFAULT_M = 20;
    /** Firings sampled per expert in the pass, from which the quantile samples are picked. */
    public static final int SAMPLED = 32;
    /** The quantiles of an expert's firing values the samples stand at. */
    public static final double[] QUANTILES = {0.1, 0.3, 0.5, 0.7, 0.9};

    /** The text around a firing token: {@code before + text + after} is a stretch of the document as written. */
    public record Context(String before, String text, String after) {
        public Context {
            Objects.requireNonNull(before, "before");
            Objects.requireNonNull(text, "text");
            Objects.requireNonNull(after, "after");
        }
    }

    /**
     * One firing.
     *
     * @param quantile for a sample, the quantile of the expert's values it stands at; null for a top example
     * @param context  the text around it, or null when no text was given
     */
    public record Example(int doc, int pos, int token, float value, Double quantile, Context context) {
        Map<String, Object> toMap() {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("doc", doc);
            o.put("pos", pos);
            o.put("token", token);
            o.put("value", (double) value);
            if (quantile != null) {
                o.put("quantile", quantile);
            }
            if (context != null) {
                Map<String, Object> c = new LinkedHashMap<>();
                c.put("before", context.before());
                c.put("text", context.text());
                c.put("after", context.after());
                o.put("context", c);
            } else {
                o.put("context", null);
            }
            return o;
        }
    }

    /**
     * One expert's examples.
     *
     * @param frequency the fraction of the split's tokens it fired on
     * @param count     the tokens it fired on
     * @param examples  its highest firings, value descending, ties by (doc, pos)
     * @param samples   firings at lower quantiles, value descending, none of them among {@code examples}
     */
    public record Expert(int expert, double frequency, long count, List<Example> examples, List<Example> samples) {
        public Expert {
            examples = List.copyOf(examples);
            samples = List.copyOf(samples);
        }

        /**
         * {@code {"expert", "frequency", "count", "examples": [{"doc", "pos", "token", "value", "context":
         * {"before", "text", "after"}}], "samples": [... with "quantile"]}}.
         */
        public Map<String, Object> toJson() {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("expert", expert);
            o.put("frequency", frequency);
            o.put("count", count);
            o.put("examples", examples.stream().map(Example::toMap).toList());
            o.put("samples", samples.stream().map(Example::toMap).toList());
            return o;
        }
    }

    private final Map<String, Object> header;
    private final List<Expert> experts;

    TopContexts(Map<String, Object> header, List<Expert> experts) {
        this.header = header;
        this.experts = experts;
    }

    /** The file's header: format, experts, m, tokens and what was measured. */
    public Map<String, Object> header() {
        return header;
    }

    /** Every expert, index order. */
    public List<Expert> experts() {
        return experts;
    }

    /** Expert {@code n}. */
    public Expert expert(int n) {
        return experts.get(Objects.checkIndex(n, experts.size()));
    }

    /**
     * Puts the pass's results together.
     *
     * @param top        the pass's top firings and samples
     * @param stats      the same pass's statistics (frequency and count), over the same rows
     * @param provenance the split's provenance, row r of the pass being row r there
     * @param only       the experts to build (null: all)
     * @param about      what was measured, for the header
     */
    public static TopContexts build(TopActivations top, ExpertStatistics stats, Provenance provenance, int[] only,
                                    Map<String, String> about) {
        if (top.experts() != stats.codeSpace()) {
            throw new IllegalArgumentException("top firings of " + top.experts() + " experts, statistics of "
                    + stats.codeSpace());
        }
        int[] which = only != null ? only : java.util.stream.IntStream.range(0, top.experts()).toArray();
        List<Expert> out = new ArrayList<>(which.length);
        for (int n : which) {
            Objects.checkIndex(n, top.experts());
            List<TopActivations.Hit> best = top.top(n);
            Set<Long> rows = new HashSet<>();
            List<Example> examples = new ArrayList<>(best.size());
            for (TopActivations.Hit h : best) {
                rows.add(h.row());
                examples.add(example(provenance, h, null));
            }
            List<TopActivations.Hit> sample = new ArrayList<>(top.sample(n));
            java.util.Collections.reverse(sample);   // ascending by value for the quantile ranks
            List<Example> samples = new ArrayList<>();
            for (double q : QUANTILES) {
                if (sample.isEmpty()) {
                    break;
                }
                TopActivations.Hit h = sample.get(Math.min(sample.size() - 1, (int) Math.floor(q * sample.size())));
                if (rows.add(h.row())) {
                    samples.add(example(provenance, h, q));
                }
            }
            java.util.Collections.reverse(samples);
            out.add(new Expert(n, stats.frequency(n), stats.count(n), examples, samples));
        }
        Map<String, Object> header = new LinkedHashMap<>();
        header.put("format", FORMAT);
        header.put("experts", top.experts());
        header.put("m", top.m());
        header.put("tokens", stats.tokens());
        header.put("context_tokens", CONTEXT_TOKENS);
        new java.util.TreeMap<>(about).forEach(header::put);
        return new TopContexts(header, out);
    }

    private static Example example(Provenance p, TopActivations.Hit h, Double quantile) {
        return new Example(p.doc(h.row()), p.pos(h.row()), p.token(h.row()), h.value(), quantile, null);
    }

    /**
     * A copy with each example's context: the documents are read once, in corpus order, up to the last one
     * needed, and tokenized again with character offsets.
     *
     * @param tokenize the harvest's tokenizer, with offsets ({@link MiniLmTokenizer#tokenize})
     * @throws IllegalArgumentException when a document is missing from the corpus or its token at an example's
     *                                  position is not the one the harvest recorded (the corpus changed)
     */
    public TopContexts withContexts(Corpus corpus, Function<String, MiniLmTokenizer.Tokens> tokenize)
            throws IOException {
        Map<Integer, Map<Integer, Context>> wanted = new HashMap<>();   // doc -> pos -> context
        Map<Integer, Map<Integer, Integer>> recorded = new HashMap<>(); // doc -> pos -> token id
        int last = -1;
        for (Expert e : experts) {
            for (List<Example> list : List.of(e.examples(), e.samples())) {
                for (Example x : list) {
                    wanted.computeIfAbsent(x.doc(), d -> new HashMap<>()).put(x.pos(), null);
                    recorded.computeIfAbsent(x.doc(), d -> new HashMap<>()).put(x.pos(), x.token());
                    last = Math.max(last, x.doc());
                }
            }
        }
        int lastDoc = last;
        int[] found = {0};
        corpus.forEach((index, text) -> {
            Map<Integer, Context> positions = wanted.get(index);
            if (positions != null) {
                MiniLmTokenizer.Tokens tokens = tokenize.apply(text);
                for (Integer pos : new ArrayList<>(positions.keySet())) {
                    int expected = recorded.get(index).get(pos);
                    if (pos < 1 || pos >= tokens.ids().length - 1 || tokens.ids()[pos] != expected) {
                        throw new IllegalArgumentException("document " + index + " of " + corpus.name() + ": position "
                                + pos + " holds " + (pos < tokens.ids().length ? "token " + tokens.ids()[pos]
                                : "no token") + " where the harvest recorded token " + expected
                                + "; the corpus or tokenizer is not the harvest's");
                    }
                    positions.put(pos, context(text, tokens, pos));
                }
                found[0]++;
            }
            return index < lastDoc;
        });
        if (found[0] != wanted.size()) {
            throw new IllegalArgumentException(corpus.name() + " has " + found[0] + " of the " + wanted.size()
                    + " documents the examples come from (the last one wanted is " + lastDoc + ")");
        }
        List<Expert> out = new ArrayList<>(experts.size());
        for (Expert e : experts) {
            out.add(new Expert(e.expert(), e.frequency(), e.count(), fill(e.examples(), wanted), fill(e.samples(), wanted)));
        }
        return new TopContexts(header, out);
    }

    private static List<Example> fill(List<Example> list, Map<Integer, Map<Integer, Context>> contexts) {
        return list.stream().map(x -> new Example(x.doc(), x.pos(), x.token(), x.value(), x.quantile(),
                contexts.get(x.doc()).get(x.pos()))).toList();
    }

    /**
     * The text around real token {@code pos} (positions 1 .. n−2 of {@code tokens}): from the start of the token
     * {@link #CONTEXT_TOKENS} before it to the end of the one as far after, cut at the tokenizer's offsets. A
     * token without offsets (the tokenizer gave none) falls back to its WordPiece strings.
     */
    public static Context context(String text, MiniLmTokenizer.Tokens tokens, int pos) {
        int n = tokens.ids().length;
        int lo = Math.max(1, pos - CONTEXT_TOKENS), hi = Math.min(n - 2, pos + CONTEXT_TOKENS);
        int[] start = tokens.start(), end = tokens.end();
        boolean offsets = true;
        for (int i = lo; i <= hi; i++) {
            offsets &= start[i] >= 0 && end[i] >= start[i];
        }
        if (offsets && start[lo] <= start[pos] && end[pos] <= end[hi]) {
            return new Context(text.substring(start[lo], start[pos]), text.substring(start[pos], end[pos]),
                    text.substring(end[pos], end[hi]));
        }
        return new Context(pieces(tokens, lo, pos), tokens.pieces()[pos], pieces(tokens, pos + 1, hi + 1));
    }

    private static String pieces(MiniLmTokenizer.Tokens tokens, int from, int to) {
        StringBuilder b = new StringBuilder();
        for (int i = from; i < to; i++) {
            String p = tokens.pieces()[i];
            b.append(p.startsWith("##") ? p.substring(2) : " " + p);
        }
        return b.toString();
    }

    /** Writes the file atomically: the header line, then one line per expert. */
    public void write(Path file) throws IOException {
        AtomicWrite.write(file, channel -> {
            writeLine(channel, header);
            for (Expert e : experts) {
                writeLine(channel, e.toJson());
            }
        });
    }

    private static void writeLine(java.nio.channels.WritableByteChannel channel, Object json) throws IOException {
        ByteBuffer line = ByteBuffer.wrap((Json.writeCompact(json) + "\n").getBytes(StandardCharsets.UTF_8));
        while (line.hasRemaining()) {
            channel.write(line);
        }
    }

    /**
     * Reads a file {@link #write} wrote.
     *
     * @throws IllegalArgumentException for a file that is not one, naming the file and line
     */
    public static TopContexts read(Path file) throws IOException {
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String first = in.readLine();
            if (first == null) {
                throw new IllegalArgumentException(file + " is empty; expected a top-contexts file");
            }
            Map<String, Object> header = Json.parseObject(first, file + " line 1");
            if (!FORMAT.equals(header.get("format"))) {
                throw new IllegalArgumentException(file + " is not a top-contexts file (format " + header.get("format")
                        + ", expected " + FORMAT + ")");
            }
            List<Expert> experts = new ArrayList<>();
            String line;
            int number = 1;
            while ((line = in.readLine()) != null) {
                number++;
                experts.add(expert(Json.parseObject(line, file + " line " + number), file + " line " + number));
            }
            return new TopContexts(header, List.copyOf(experts));
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private static Expert expert(Map<String, Object> o, String where) {
        try {
            return new Expert(((Number) o.get("expert")).intValue(), ((Number) o.get("frequency")).doubleValue(),
                    ((Number) o.get("count")).longValue(), examples(o.get("examples")), examples(o.get("samples")));
        } catch (ClassCastException | NullPointerException e) {
            throw new IllegalArgumentException(where + " is not an expert object {expert, frequency, count, examples,"
                    + " samples}: " + e.getMessage(), e);
        }
    }

    private static List<Example> examples(Object list) {
        List<Example> out = new ArrayList<>();
        for (Object item : (List<?>) list) {
            Map<?, ?> x = (Map<?, ?>) item;
            Map<?, ?> c = (Map<?, ?>) x.get("context");
            out.add(new Example(((Number) x.get("doc")).intValue(), ((Number) x.get("pos")).intValue(),
                    ((Number) x.get("token")).intValue(), ((Number) x.get("value")).floatValue(),
                    x.get("quantile") == null ? null : ((Number) x.get("quantile")).doubleValue(),
                    c == null ? null : new Context((String) c.get("before"), (String) c.get("text"), (String) c.get("after"))));
        }
        return out;
    }
}
