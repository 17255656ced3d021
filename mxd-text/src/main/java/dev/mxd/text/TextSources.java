package dev.mxd.text;

import dev.mxd.text.harvest.TextSource;
import java.util.Objects;
import java.util.concurrent.Callable;

/**
 * Where {@code harvest}, {@code eval} and {@code demo} get their model and text: the real ones of DESIGN §7
 * ({@link RealText#SOURCES}), or stand-ins in tests.
 */
public interface TextSources {

    /** The name of the model {@link #open()} gives, as harvest manifests record it. */
    String model();

    /** Loads the model, tokenizer and corpus; the caller closes the result. */
    TextSource open() throws Exception;

    /**
     * The sources of {@code model} that {@code open} loads, each time {@link #open()} is called.
     *
     * @param model the name {@link #model()} returns; the sources {@code open} gives should carry it too
     */
    static TextSources of(String model, Callable<TextSource> open) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(open, "open");
        return new TextSources() {
            @Override
            public String model() {
                return model;
            }

            @Override
            public TextSource open() throws Exception {
                return open.call();
            }
        };
    }
}
