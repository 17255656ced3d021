package dev.mxd.text.harvest;

import dev.mxd.MxdConfig;
import dev.mxd.checkpoint.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * {@code DIR/manifest.json} of a harvested activation directory (DESIGN §4): what produced the shards of
 * {@code DIR/train} and {@code DIR/eval}.
 *
 * @param formatVersion   the layout version, {@link #FORMAT_VERSION}
 * @param model           the encoder's name (e.g. {@code all-MiniLM-L6-v2})
 * @param layer           the 0-based layer whose MLP was read
 * @param width           I = O, the encoder's hidden width
 * @param corpus          the corpus's name
 * @param seed            seed of the document split
 * @param evalFraction    the fraction of documents held out
 * @param maxTokens       the tokenizer's maximum sequence length per document, special tokens included
 * @param tokensRequested the real tokens asked for, both splits together
 * @param trainTokens     rows written to {@code DIR/train}
 * @param evalTokens      rows written to {@code DIR/eval}
 * @param trainDocuments  documents with tokens in {@code DIR/train}
 * @param evalDocuments   documents with tokens in {@code DIR/eval}
 * @param documentsRead   documents read from the corpus (from index 0 on), including ones without a real token
 * @param shardTokens     the most rows per shard
 * @param corpusFile      for a user's text file ({@link TextFileCorpus}), its absolute path; null for a built-in corpus
 * @param corpusSha256    that file's SHA-256 (lower-case hex), or null
 * @param specialTokens   whether the rows include {@code [CLS]} and {@code [SEP]} (false: the real tokens only)
 */
public record HarvestManifest(int formatVersion, String model, int layer, int width, String corpus, long seed,
                              double evalFraction, int maxTokens, long tokensRequested, long trainTokens,
                              long evalTokens, int trainDocuments, int evalDocuments, int documentsRead,
                              int shardTokens, String corpusFile, String corpusSha256,
                              boolean specialTokens) {
    /** The version of the activation-directory layout this code writes. */
    public static final int FORMAT_VERSION = 1;
    /** The file name inside the activation directory. */
    public static final String FILE = "manifest.json";

    public HarvestManifest {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(corpus, "corpus");
        if ((corpusFile == null) != (corpusSha256 == null)) {
            throw new IllegalArgumentException("a corpus file needs its sha256 and the other way round");
        }
    }

    /** A manifest of a built-in corpus (no corpus file), real tokens only. */
    public HarvestManifest(int formatVersion, String model, int layer, int width, String corpus, long seed,
                           double evalFraction, int maxTokens, long tokensRequested, long trainTokens, long evalTokens,
                           int trainDocuments, int evalDocuments, int documentsRead, int shardTokens) {
        this(formatVersion, model, layer, width, corpus, seed, evalFraction, maxTokens, tokensRequested, trainTokens,
                evalTokens, trainDocuments, evalDocuments, documentsRead, shardTokens, null, null, false);
    }

    /** Whether the corpus ran out before {@link #tokensRequested} tokens were read. */
    public boolean corpusExhausted() {
        return trainTokens + evalTokens < tokensRequested;
    }

    /**
     * Whether this manifest records the harvest that {@code settings} would make from {@code source}: the same
     * model, layer, corpus, seed, eval fraction, maximum length, tokens asked for and layout version (the shard
     * size does not change the rows). A directory with such a manifest holds that harvest's data.
     */
    public boolean describes(TextSource source, Harvester.Settings settings) {
        return formatVersion == FORMAT_VERSION && model.equals(source.model()) && layer == settings.layer()
                && corpus.equals(source.corpus().name()) && seed == settings.seed()
                && Double.compare(evalFraction, settings.evalFraction()) == 0 && maxTokens == source.maxTokens()
                && tokensRequested == settings.tokens() && specialTokens == settings.specialTokens();
    }

    /** The manifest as pretty-printed JSON, fields in a fixed order. */
    public String toJson() {
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("format_version", formatVersion);
        o.put("model", model);
        o.put("layer", layer);
        o.put("input_dim", width);
        o.put("output_dim", width);
        o.put("corpus", corpus);
        if (corpusFile != null) {
            o.put("corpus_file", corpusFile);
            o.put("corpus_sha256", corpusSha256);
        }
        o.put("seed", seed);
        o.put("eval_fraction", evalFraction);
        o.put("max_tokens_per_doc", maxTokens);
        o.put("tokens_requested", tokensRequested);
        o.put("tokens", ordered("train", trainTokens, "eval", evalTokens));
        o.put("documents", ordered("train", trainDocuments, "eval", evalDocuments, "read", documentsRead));
        o.put("corpus_exhausted", corpusExhausted());
        o.put("shard_tokens", shardTokens);
        o.put("special_tokens", specialTokens);
        o.put("tensors", ordered(
                "x", "[T, I] F32: the MLP's input at layer " + layer + ", the LayerNorm output that feeds intermediate.dense",
                "t", "[T, O] F32: the MLP's output at layer " + layer + ", output.dense with its bias, before the residual add",
                "doc", "[T] I32: the document (0-based line of the corpus)",
                "pos", "[T] I32: the token's position in the document's sequence ([CLS] is 0)",
                "token", "[T] I32: the token id"));
        return Json.writePretty(o) + "\n";
    }

    /** An object whose fields keep the order given: {@code ordered(key, value, key, value, ...)}. */
    private static Map<String, Object> ordered(Object... keysAndValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            m.put((String) keysAndValues[i], keysAndValues[i + 1]);
        }
        return m;
    }

    /** Writes {@code dir/manifest.json}. */
    public void write(Path dir) throws IOException {
        Files.writeString(dir.resolve(FILE), toJson(), StandardCharsets.UTF_8);
    }

    /**
     * Reads {@code dir/manifest.json}.
     *
     * @throws java.nio.file.NoSuchFileException when there is none
     * @throws IllegalArgumentException          for malformed JSON or a missing or mistyped field, naming it
     */
    public static HarvestManifest read(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        Map<String, Object> o = Json.parseObject(Files.readString(file, StandardCharsets.UTF_8), file.toString());
        Reader r = new Reader(file);
        int version = r.integer(o, "format_version");
        if (version != FORMAT_VERSION) {
            throw new IllegalArgumentException(file + " has format_version " + version + "; this mxd reads version "
                    + FORMAT_VERSION);
        }
        int in = r.integer(o, "input_dim"), out = r.integer(o, "output_dim");
        if (in != out) {
            throw new IllegalArgumentException(file + " has input_dim " + in + " and output_dim " + out
                    + "; a harvest reads an MLP of equal widths");
        }
        Map<?, ?> tokens = r.object(o, "tokens"), docs = r.object(o, "documents");
        return new HarvestManifest(version, r.text(o, "model"), r.integer(o, "layer"), in, r.text(o, "corpus"),
                r.integral(o, "seed"), r.number(o, "eval_fraction").doubleValue(),
                r.integer(o, "max_tokens_per_doc"), r.integral(o, "tokens_requested"),
                r.integral(tokens, "train"), r.integral(tokens, "eval"),
                r.integer(docs, "train"), r.integer(docs, "eval"), r.integer(docs, "read"),
                r.integer(o, "shard_tokens"), o.containsKey("corpus_file") ? r.text(o, "corpus_file") : null,
                o.containsKey("corpus_file") ? r.text(o, "corpus_sha256") : null, r.flag(o, "special_tokens"));
    }

    /** The field of a model's {@code cfg.json} that records the harvest it was trained on. */
    public static final String CONFIG_FIELD = "harvest";

    /**
     * {@code cfg} with this harvest recorded under {@link #CONFIG_FIELD}: {@code model}, {@code layer},
     * {@code corpus} (and {@code corpus_file}, {@code corpus_sha256} for a user's file) and {@code data}, the
     * directory's absolute path; so that later commands know which layer of which model the trained layer replaces.
     */
    public MxdConfig recordIn(MxdConfig cfg, Path dir) {
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("model", model);
        h.put("layer", layer);
        h.put("corpus", corpus);
        if (corpusFile != null) {
            h.put("corpus_file", corpusFile);
            h.put("corpus_sha256", corpusSha256);
        }
        h.put("data", dir.toAbsolutePath().normalize().toString());
        Map<String, Object> fields = new LinkedHashMap<>(cfg.otherFields());
        fields.put(CONFIG_FIELD, h);
        return cfg.withOtherFields(fields);
    }

    /**
     * What a model's config records of its harvest ({@link #recordIn}).
     *
     * @param data the activation directory it was trained on
     */
    public record Recorded(String model, int layer, String corpus, Path data) {
    }

    /**
     * The harvest recorded in {@code cfg}, or null when there is none.
     *
     * @throws IllegalArgumentException when the field is there but malformed
     */
    public static Recorded recordedIn(MxdConfig cfg) {
        Object h = cfg.otherFields().get(CONFIG_FIELD);
        if (h == null) {
            return null;
        }
        if (h instanceof Map<?, ?> m && m.get("model") instanceof String model && m.get("layer") instanceof Number layer
                && m.get("corpus") instanceof String corpus && m.get("data") instanceof String data) {
            return new Recorded(model, layer.intValue(), corpus, Path.of(data));
        }
        throw new IllegalArgumentException("cfg.json field '" + CONFIG_FIELD + "' is " + Json.writeCompact(h)
                + ", expected {\"model\", \"layer\", \"corpus\", \"data\"}");
    }

    /** Whether {@code dir} has a manifest file. */
    public static boolean exists(Path dir) {
        return Files.isRegularFile(dir.resolve(FILE));
    }

    private record Reader(Path file) {
        Object field(Map<?, ?> o, String name) {
            Object v = o.get(name);
            if (v == null) {
                throw new IllegalArgumentException(file + " has no field '" + name + "'");
            }
            return v;
        }

        Number number(Map<?, ?> o, String name) {
            return field(o, name) instanceof Number n ? n : fail(o, name, "a number");
        }

        long integral(Map<?, ?> o, String name) {
            Number n = number(o, name);
            return n instanceof Integer || n instanceof Long ? n.longValue() : fail(o, name, "an integer");
        }

        int integer(Map<?, ?> o, String name) {
            return number(o, name) instanceof Integer i ? i : fail(o, name, "an integer");
        }

        String text(Map<?, ?> o, String name) {
            return field(o, name) instanceof String s ? s : fail(o, name, "a string");
        }

        /** A boolean field; absent means false (manifests written before the field existed). */
        boolean flag(Map<?, ?> o, String name) {
            Object v = o.get(name);
            return v == null ? false : v instanceof Boolean b ? b : fail(o, name, "true or false");
        }

        Map<?, ?> object(Map<?, ?> o, String name) {
            return field(o, name) instanceof Map<?, ?> m ? m : fail(o, name, "an object");
        }

        private <T> T fail(Map<?, ?> o, String name, String expected) {
            throw new IllegalArgumentException(file + ": field '" + name + "' is " + Json.writeCompact(o.get(name))
                    + ", expected " + expected);
        }
    }
}
