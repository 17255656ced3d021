package dev.mxd.explore;

import dev.mxd.Activation;
import dev.mxd.Backends;
import dev.mxd.MxdConfig;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.text.harvest.FakeText;
import dev.mxd.text.harvest.IntTokenizer;
import dev.mxd.text.minilm.MiniLmTokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;

/** A small atlas with hostile documents, and a live model on the fake encoder of mxd-text's tests. */
final class Fixtures {
    static final String SCRIPT = "<script>window.__pwned = 1; alert('pwned')</script>";
    static final String IMG = "\"><img src=x onerror=\"window.__pwned = 2\" id=injected>";
    /** The expert whose top contexts hold the hostile documents. */
    static final int HOSTILE = 3;
    static final int EXPERTS = 24;
    static final double[] EDGES = {0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30};

    private Fixtures() {
    }

    /** 24 experts: expert e fires on 10·e tokens (0 is dead), max e; expert 3's contexts are hostile. */
    static Atlas atlas() {
        List<Atlas.Expert> experts = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(5);
        for (int e = 0; e < EXPERTS; e++) {
            long[] hist = new long[EDGES.length - 1];
            long count = 10L * e;
            for (long c = 0; c < count; c++) {
                hist[(int) ((c + r.nextInt(2)) % hist.length)]++;
            }
            List<Atlas.Example> top = new ArrayList<>();
            List<Atlas.Example> samples = new ArrayList<>();
            if (e > 0) {
                for (int i = 0; i < 3; i++) {
                    String before = e == HOSTILE && i == 0 ? "before " + SCRIPT + " " : "the council votes on ";
                    String token = e == HOSTILE && i == 1 ? IMG : "report" + e;
                    String text = before + token + " today";
                    top.add(new Atlas.Example(100 + i, 5 + i, e - 0.1 * i, text, before.length(),
                            before.length() + token.length(), ""));
                }
                samples.add(new Atlas.Example(7, 2, e / 4.0, "a sample " + (e == HOSTILE ? SCRIPT : "motion"),
                        2, 8, "quantile 0.25"));
            }
            experts.add(new Atlas.Expert(e, count, e == 0 ? 0 : e * 0.6, e, hist, top, samples));
        }
        return Atlas.of("model <b>bold</b>", 1000, EDGES, experts);
    }

    /** Labels, one of them hostile. */
    static Map<Integer, String> labels() {
        return Map.of(2, "de", HOSTILE, "fr " + IMG, 5, "de");
    }

    /** Words split on spaces, with their offsets; ids from {@link FakeText#tokenizer}. */
    static Function<String, MiniLmTokenizer.Tokens> tokenizer() {
        IntTokenizer ids = FakeText.tokenizer(64);
        return text -> {
            int[] id = ids.encode(text);
            int n = id.length;
            String[] pieces = new String[n];
            int[] start = new int[n], end = new int[n];
            pieces[0] = "[CLS]";
            pieces[n - 1] = "[SEP]";
            start[0] = end[0] = start[n - 1] = end[n - 1] = -1;
            int at = 0;
            for (int i = 1; i < n - 1; i++) {
                while (Character.isWhitespace(text.charAt(at))) {
                    at++;
                }
                int s = at;
                while (at < text.length() && !Character.isWhitespace(text.charAt(at))) {
                    at++;
                }
                pieces[i] = text.substring(s, at).toLowerCase();
                start[i] = s;
                end[i] = at;
            }
            return new MiniLmTokenizer.Tokens(id, pieces, start, end);
        };
    }

    /** A live model and what it holds; close it. */
    record Live(LiveModel live, MxdModel model, MxdLayer layer) implements AutoCloseable {
        @Override
        public void close() {
            layer.close();
            model.close();
        }
    }

    /** The fake encoder with a random MxD of 24 experts at layer 1, and 40 held-out documents, some hostile. */
    static Live live() {
        FakeText.Encoder encoder = new FakeText.Encoder(7);
        MxdModel model = MxdModel.random(MxdConfig.mxd(FakeText.WIDTH, 32, EXPERTS, FakeText.WIDTH, 4,
                Activation.GELU, false, false), 3);
        MxdLayer layer = Backends.select().load(model);
        List<Integer> docs = new ArrayList<>();
        List<String> texts = new ArrayList<>();
        List<String> all = FakeText.texts(60);
        for (int d = 0; d < all.size(); d++) {
            if (!all.get(d).isBlank()) {
                docs.add(d);
                texts.add(d == 4 ? all.get(d) + " " + SCRIPT : d == 5 ? all.get(d) + " " + IMG : all.get(d));
            }
        }
        Function<String, MiniLmTokenizer.Tokens> tokenizer = tokenizer();
        List<LiveModel.Document> heldOut = LiveModel.embed(encoder, tokenizer, docs, texts);
        return new Live(new LiveModel(encoder, tokenizer, 1, layer, heldOut), model, layer);
    }
}
