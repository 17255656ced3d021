package dev.mxd.text.probe;

import dev.mxd.text.harvest.DocumentSplit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Sparse probing of labelled documents (SAEBench's protocol, as the MxD paper applies it to language
 * identification; DESIGN §7). Documents go whole to a probe-training or a test side by {@link DocumentSplit}. For
 * each class, one against the rest, on a balanced set (as many other-class documents as the class has, drawn by a
 * seeded shuffle, on each side):
 * <ol>
 *   <li>the {@value #CANDIDATES} codes with the largest difference between the class's mean pooled value and the
 *       others', on the training side (ties to the lower index; codes that never fire there are not candidates);</li>
 *   <li>a 1-D logistic regression on each candidate (trained on the training side), scored by the F1 of the class
 *       on the test side; the best F1 and its code are reported;</li>
 *   <li>k-sparse probes: a logistic regression on the top k candidates together, scored by test accuracy
 *       (chance is 0.5 on the balanced set).</li>
 * </ol>
 * Features are standardised with the training side's mean and standard deviation, and the fit is L2-penalised with
 * λ = {@value #LAMBDA} (scikit-learn's default C = 1), so that a perfectly separating code gets a finite probe.
 */
public final class SparseProbing {
    /** Codes ranked per class. */
    public static final int CANDIDATES = 100;
    /** The L2 penalty of every probe (on standardised features). */
    public static final double LAMBDA = 1.0;

    /**
     * How to probe.
     *
     * @param seed         seed of the document split and of the negative sampling
     * @param testFraction fraction of documents on the test side, in (0, 1)
     * @param minDocuments a class is probed only with at least this many documents on each side, ≥ 1
     * @param ks           the k of the k-sparse probes, each ≥ 1, ascending
     */
    public record Settings(long seed, double testFraction, int minDocuments, int[] ks) {
        /** The defaults: seed 42, 30 % of documents for testing, at least 5 a side, k = 1, 2, 5. */
        public static final Settings DEFAULT = new Settings(42, 0.3, 5, new int[] {1, 2, 5});

        public Settings {
            if (!(testFraction > 0 && testFraction < 1)) {
                throw new IllegalArgumentException("the test fraction must be in (0, 1), got " + testFraction);
            }
            if (minDocuments < 1) {
                throw new IllegalArgumentException("the minimum documents per class and side must be >= 1, got "
                        + minDocuments);
            }
            ks = ks.clone();
            for (int i = 0; i < ks.length; i++) {
                if (ks[i] < 1 || (i > 0 && ks[i] <= ks[i - 1])) {
                    throw new IllegalArgumentException("k-sparse probes need ascending k >= 1, got " + Arrays.toString(ks));
                }
            }
        }

        @Override
        public int[] ks() {
            return ks.clone();
        }
    }

    /**
     * One class's probes.
     *
     * @param label          the class
     * @param trainDocuments documents of the class on the training side (the balanced set has twice as many)
     * @param testDocuments  documents of the class on the test side (likewise)
     * @param bestF1         the best test F1 of a 1-D probe among the candidates
     * @param bestCode       its code (expert for an MxD, hidden unit for a TC or STC)
     * @param kSparseAccuracy test accuracy of the probe on the top k candidates, by k (ascending); a k larger than
     *                       the number of candidates uses them all
     * @param topCodes       the candidates, best first
     */
    public record ClassResult(String label, int trainDocuments, int testDocuments, double bestF1, int bestCode,
                              Map<Integer, Double> kSparseAccuracy, int[] topCodes) {
        public ClassResult {
            kSparseAccuracy = Collections.unmodifiableMap(new LinkedHashMap<>(kSparseAccuracy));
            topCodes = topCodes.clone();
        }

        @Override
        public int[] topCodes() {
            return topCodes.clone();
        }
    }

    private SparseProbing() {
    }

    /**
     * Probes every class with enough documents.
     *
     * @param codes  pooled codes per document
     * @param labels the class of each labelled document; documents without a label, or without codes, are left out
     * @return one result per probed class, by label in ascending order
     */
    public static List<ClassResult> run(PooledCodes codes, Map<Integer, String> labels, Settings settings) {
        Objects.requireNonNull(codes, "codes");
        Objects.requireNonNull(settings, "settings");
        DocumentSplit split = new DocumentSplit(settings.seed(), settings.testFraction());
        Map<String, List<Integer>> train = new TreeMap<>(), test = new TreeMap<>();
        for (Integer doc : new TreeSet<>(labels.keySet())) {
            String label = labels.get(doc);
            if (label == null || !codes.documents().containsKey(doc)) {
                continue;
            }
            (split.isEval(doc) ? test : train).computeIfAbsent(label, l -> new ArrayList<>()).add(doc);
            (split.isEval(doc) ? train : test).computeIfAbsent(label, l -> new ArrayList<>());
        }
        List<ClassResult> results = new ArrayList<>();
        int classIndex = 0;
        for (String label : train.keySet()) {
            classIndex++;
            List<Integer> trainPos = train.get(label), testPos = test.get(label);
            if (trainPos.size() < settings.minDocuments() || testPos.size() < settings.minDocuments()) {
                continue;
            }
            SplittableRandom random = new SplittableRandom(settings.seed() * 31 + classIndex);
            Side tr = Side.balanced(codes, trainPos, others(train, label), random);
            Side te = Side.balanced(codes, testPos, others(test, label), random);
            if (tr.size() == 0 || te.size() == 0) {
                continue;
            }
            results.add(probe(codes.codeSpace(), label, trainPos.size(), testPos.size(), tr, te, settings.ks()));
        }
        return results;
    }

    private static List<Integer> others(Map<String, List<Integer>> side, String label) {
        List<Integer> out = new ArrayList<>();
        side.forEach((l, docs) -> {
            if (!l.equals(label)) {
                out.addAll(docs);
            }
        });
        Collections.sort(out);
        return out;
    }

    /** A balanced binary set: the documents' vectors and whether each is of the class. */
    private record Side(List<PooledCodes.Vector> rows, boolean[] positive) {
        int size() {
            return rows.size();
        }

        /** min(|pos|, |neg|) of each, each drawn by a seeded shuffle when it has more. */
        static Side balanced(PooledCodes codes, List<Integer> pos, List<Integer> neg, SplittableRandom random) {
            int m = Math.min(pos.size(), neg.size());
            List<Integer> p = sample(pos, m, random), n = sample(neg, m, random);
            List<PooledCodes.Vector> rows = new ArrayList<>(2 * m);
            boolean[] positive = new boolean[2 * m];
            for (int i = 0; i < m; i++) {
                positive[rows.size()] = true;
                rows.add(codes.documents().get(p.get(i)));
                rows.add(codes.documents().get(n.get(i)));
            }
            return new Side(rows, positive);
        }

        private static List<Integer> sample(List<Integer> docs, int m, SplittableRandom random) {
            List<Integer> copy = new ArrayList<>(docs);
            for (int i = copy.size() - 1; i > 0; i--) {
                Collections.swap(copy, i, random.nextInt(i + 1));
            }
            return copy.subList(0, m);
        }

        double[][] features(int[] codesUsed) {
            double[][] x = new double[rows.size()][codesUsed.length];
            for (int r = 0; r < rows.size(); r++) {
                for (int j = 0; j < codesUsed.length; j++) {
                    x[r][j] = rows.get(r).get(codesUsed[j]);
                }
            }
            return x;
        }
    }

    private static ClassResult probe(int space, String label, int trainDocs, int testDocs, Side train, Side test,
                                     int[] ks) {
        int[] top = candidates(space, train);
        double bestF1 = -1;
        int bestCode = -1;
        for (int code : top) {
            double f1 = f1(fitAndPredict(train, test, new int[] {code}), test.positive());
            if (f1 > bestF1) {
                bestF1 = f1;
                bestCode = code;
            }
        }
        Map<Integer, Double> accuracy = new LinkedHashMap<>();
        for (int k : ks) {
            int[] used = Arrays.copyOf(top, Math.min(k, top.length));
            accuracy.put(k, used.length == 0 ? Double.NaN : accuracy(fitAndPredict(train, test, used), test.positive()));
        }
        return new ClassResult(label, trainDocs, testDocs, top.length == 0 ? Double.NaN : bestF1, bestCode, accuracy, top);
    }

    /** The top codes by class-mean difference on the training side. */
    static int[] candidates(int space, Side train) {
        double[] diff = new double[space];
        boolean[] fires = new boolean[space];
        int pos = 0;
        for (int r = 0; r < train.size(); r++) {
            pos += train.positive()[r] ? 1 : 0;
        }
        int neg = train.size() - pos;
        for (int r = 0; r < train.size(); r++) {
            PooledCodes.Vector v = train.rows().get(r);
            double w = train.positive()[r] ? 1.0 / pos : -1.0 / neg;
            for (int j = 0; j < v.size(); j++) {
                diff[v.indexAt(j)] += w * v.valueAt(j);
                fires[v.indexAt(j)] = true;
            }
        }
        // a min-heap of the best CANDIDATES: worst on top (smaller difference, then higher index)
        PriorityQueue<Integer> heap = new PriorityQueue<>((a, b) -> diff[a] != diff[b] ? Double.compare(diff[a], diff[b])
                : Integer.compare(b, a));
        for (int i = 0; i < space; i++) {
            if (fires[i]) {
                heap.add(i);
                if (heap.size() > CANDIDATES) {
                    heap.poll();
                }
            }
        }
        int[] out = new int[heap.size()];
        for (int i = out.length - 1; i >= 0; i--) {
            out[i] = heap.poll();
        }
        return out;
    }

    /** Fits on train's standardised columns {@code used}, predicts test. */
    private static boolean[] fitAndPredict(Side train, Side test, int[] used) {
        double[][] x = train.features(used);
        double[] mean = new double[used.length], sd = new double[used.length];
        for (int j = 0; j < used.length; j++) {
            for (double[] row : x) {
                mean[j] += row[j];
            }
            mean[j] /= x.length;
            for (double[] row : x) {
                sd[j] += (row[j] - mean[j]) * (row[j] - mean[j]);
            }
            sd[j] = Math.sqrt(sd[j] / x.length);
        }
        standardise(x, mean, sd);
        LogisticRegression.Fit fit = LogisticRegression.fit(x, train.positive(), LAMBDA);
        double[][] xt = test.features(used);
        standardise(xt, mean, sd);
        boolean[] predicted = new boolean[xt.length];
        for (int r = 0; r < xt.length; r++) {
            predicted[r] = fit.predict(xt[r]);
        }
        return predicted;
    }

    /** A column without spread on the training side carries no information: it becomes 0. */
    private static void standardise(double[][] x, double[] mean, double[] sd) {
        for (double[] row : x) {
            for (int j = 0; j < row.length; j++) {
                row[j] = sd[j] > 0 ? (row[j] - mean[j]) / sd[j] : 0;
            }
        }
    }

    /** F1 of the positive class; 0 when nothing is predicted positive or there is no positive. */
    static double f1(boolean[] predicted, boolean[] actual) {
        int tp = 0, fp = 0, fn = 0;
        for (int i = 0; i < actual.length; i++) {
            if (predicted[i] && actual[i]) {
                tp++;
            } else if (predicted[i]) {
                fp++;
            } else if (actual[i]) {
                fn++;
            }
        }
        return tp == 0 ? 0 : 2.0 * tp / (2.0 * tp + fp + fn);
    }

    static double accuracy(boolean[] predicted, boolean[] actual) {
        int right = 0;
        for (int i = 0; i < actual.length; i++) {
            right += predicted[i] == actual[i] ? 1 : 0;
        }
        return (double) right / actual.length;
    }
}
