package dev.mxd.cli;

import dev.mxd.Backend;
import dev.mxd.MxdLayer;
import dev.mxd.MxdModel;
import dev.mxd.checkpoint.Json;
import dev.mxd.checkpoint.ModelFiles;
import dev.mxd.text.RealText;
import dev.mxd.text.experts.TokenCodes;
import dev.mxd.text.harvest.HarvestManifest;
import dev.mxd.text.harvest.TextSource;
import dev.mxd.text.minilm.MiniLmTokenizer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "codes", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Runs " + RealText.MODEL + " on a text and prints, per token, the experts (TC, STC: hidden units)"
                + " the trained layer gives it and their values.",
                "The layer it replaces comes from the harvest recorded in the model's cfg.json by ./mxd train, or"
                        + " --layer. With --json, stdout holds one JSON object: {\"tokens\": [{\"token\", \"text\","
                        + " \"codes\": [{\"expert\", \"value\"}]}]}."})
final class CodesCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "PATH",
            description = "Model directory (mxd.safetensors + cfg.json), .safetensors file or reference .pt.")
    Path model;

    @Option(names = "--text", required = true, paramLabel = "TEXT", description = "The text (at most 126 tokens are read).")
    String text;

    @Option(names = "--layer", paramLabel = "L", description = "The layer of " + RealText.MODEL
            + " whose MLP the model replaces (default: the one recorded in its cfg.json).")
    Integer layer;

    @Option(names = "--json", description = "Print one JSON object instead of text.")
    boolean json;

    @Mixin
    BackendOption backend;

    @Override
    public Integer call() throws Exception {
        try (MxdModel m = ModelFiles.load(model)) {
            int hooked = layer != null ? layer : recordedLayer(m);
            Backend chosen = backend.select();
            List<TokenCodes.Token> tokens;
            try (TextSource source = RealText.open(chosen);
                 MiniLmTokenizer tokenizer = MiniLmTokenizer.load(source.maxTokens())) {
                if (hooked < 0 || hooked >= source.encoder().layers()) {
                    throw new IllegalArgumentException("--layer must be in 0.." + (source.encoder().layers() - 1)
                            + " for " + RealText.MODEL + ", got " + hooked);
                }
                try (MxdLayer l = chosen.load(m)) {
                    tokens = TokenCodes.of(source.encoder(), hooked, l, text, tokenizer.tokenize(text));
                }
            }
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                List<Object> list = new ArrayList<>();
                for (TokenCodes.Token t : tokens) {
                    List<Object> codes = new ArrayList<>();
                    for (int j = 0; j < t.experts().length; j++) {
                        Map<String, Object> c = new LinkedHashMap<>();
                        c.put("expert", t.experts()[j]);
                        c.put("value", (double) t.values()[j]);
                        codes.add(c);
                    }
                    Map<String, Object> o = new LinkedHashMap<>();
                    o.put("token", t.id());
                    o.put("text", t.text());
                    o.put("codes", codes);
                    list.add(o);
                }
                out.println(Json.writeCompact(Map.of("tokens", list)));
                return 0;
            }
            out.printf(Locale.ROOT, "%s replacing layer %d of %s (%s K=%d), backend %s: %d tokens%n", model, hooked,
                    RealText.MODEL, m.config().kind(), m.config().k(), chosen.name(), tokens.size());
            for (TokenCodes.Token t : tokens) {
                StringBuilder b = new StringBuilder();
                for (int j = 0; j < t.experts().length; j++) {
                    if (t.values()[j] != 0) {
                        b.append(String.format(Locale.ROOT, " %d:%.3f", t.experts()[j], t.values()[j]));
                    }
                }
                out.printf(Locale.ROOT, "%6d  %-16s%s%n", t.id(), t.text(), b);
            }
        }
        return 0;
    }

    private int recordedLayer(MxdModel m) {
        HarvestManifest.Recorded r = HarvestManifest.recordedIn(m.config());
        if (r == null) {
            throw new IllegalArgumentException(model + " records no harvest in its cfg.json (it was not trained by"
                    + " ./mxd train on a harvested directory): give --layer");
        }
        if (!r.model().equals(RealText.MODEL)) {
            throw new IllegalArgumentException(model + " was trained on activations of " + r.model() + ", not "
                    + RealText.MODEL);
        }
        return r.layer();
    }
}
