package dev.mxd.text;

import dev.mxd.text.harvest.TextSource;

/**
 * Where {@code harvest}, {@code eval} and {@code demo} get their model and text: the real ones of DESIGN §7
 * ({@link RealText#SOURCES}), or stand-ins in tests.
 */
public interface TextSources {

    /** The name of the model {@link #open()} gives, as harvest manifests record it. */
    String model();

    /** Loads the model, tokenizer and corpus; the caller closes the result. */
    TextSource open() throws Exception;
}
