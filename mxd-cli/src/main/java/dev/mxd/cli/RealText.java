package dev.mxd.cli;

import dev.mxd.cli.harvest.TextSource;

/**
 * The real model and text of DESIGN §7: all-MiniLM-L6-v2 with its tokenizer (at most 128 tokens a document) and
 * the Europarl lines file, both read from Maven Central artifacts on the class path.
 */
final class RealText {
    /** The model's name in harvest manifests. */
    static final String MODEL = "all-MiniLM-L6-v2";

    static final TextSources SOURCES = new TextSources() {
        @Override
        public String model() {
            return MODEL;
        }

        @Override
        public TextSource open() {
            throw new IllegalStateException("this build of mxd does not include the " + MODEL + " encoder");
        }
    };

    private RealText() {
    }
}
