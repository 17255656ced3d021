/**
 * Text to activations and back (DESIGN §7): all-MiniLM-L6-v2 on any backend's {@link dev.mxd.DenseOps}, its
 * tokenizer, the Europarl corpus, the harvest of one layer's MLP, the embedding cosine of a spliced layer and the
 * evaluation of {@code ./mxd eval}. The generated ONNX message classes stay inside.
 */
module dev.mxd.text {
    requires transitive dev.mxd;
    requires ai.djl.tokenizers;
    requires com.google.protobuf;

    exports dev.mxd.text;
    exports dev.mxd.text.eval;
    exports dev.mxd.text.experts;
    exports dev.mxd.text.harvest;
    exports dev.mxd.text.minilm;
    exports dev.mxd.text.probe;
    exports dev.mxd.text.steer;
}
