package dev.mxd.text.minilm;

/**
 * Observes, or replaces, the MLP of one transformer layer while a {@link SentenceEncoder} runs a sequence.
 *
 * <p>Harvesting reads {@code input} and {@code output}; splicing a trained layer in place of the MLP
 * overwrites {@code output}. The arrays belong to the encoder and are valid only during the call: copy
 * what must outlive it.
 */
@FunctionalInterface
public interface MlpHook {

    /**
     * Called once per sequence at the hooked layer, after the MLP has run.
     *
     * @param tokens the number of positions n in the sequence (special tokens included)
     * @param input  [n, width] row-major: the MLP's input, the LayerNorm output that feeds the first dense layer
     * @param output [n, width] row-major: the MLP's output (second dense layer, bias included, before the
     *               residual add); what this array holds when the call returns is what the encoder goes on with
     */
    void atMlp(int tokens, float[] input, float[] output);
}
