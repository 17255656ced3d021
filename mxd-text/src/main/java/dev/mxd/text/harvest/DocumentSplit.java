package dev.mxd.text.harvest;

/**
 * Assigns whole documents to the training or the held-out split by a seeded hash of the document index, so
 * that no document has tokens in both and the assignment of a document does not depend on which others are
 * read: {@code eval} iff {@code u(seed, doc) < evalFraction}, with {@code u} uniform in [0, 1) (the SplitMix64
 * finaliser of the seed and the index).
 */
public final class DocumentSplit {
    private final long seed;
    private final double evalFraction;

    /**
     * @throws IllegalArgumentException when {@code evalFraction} is not in [0, 1)
     */
    public DocumentSplit(long seed, double evalFraction) {
        if (!(evalFraction >= 0 && evalFraction < 1)) {
            throw new IllegalArgumentException("the eval fraction must be in [0, 1), got " + evalFraction);
        }
        this.seed = seed;
        this.evalFraction = evalFraction;
    }

    /** Whether document {@code doc} belongs to the held-out split. */
    public boolean isEval(int doc) {
        return unit(seed, doc) < evalFraction;
    }

    /** A uniform double in [0, 1) determined by the seed and the document. */
    static double unit(long seed, int doc) {
        long z = seed + 0x9E3779B97F4A7C15L * (doc + 1L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z = z ^ (z >>> 31);
        return (z >>> 11) * 0x1.0p-53;
    }
}
