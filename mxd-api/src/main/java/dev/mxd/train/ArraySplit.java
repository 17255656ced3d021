package dev.mxd.train;

import java.util.Objects;

/** A split over two arrays. */
final class ArraySplit implements ActivationSource.Split {
    private final String name;
    private final int in, out;
    private final float[] x, t;
    private final long tokens;

    ArraySplit(String name, int in, int out, float[] x, float[] t) {
        if (in < 1 || out < 1) {
            throw new IllegalArgumentException("widths must be >= 1, got I = " + in + ", O = " + out);
        }
        Objects.requireNonNull(x, name + " x");
        Objects.requireNonNull(t, name + " t");
        if (x.length % in != 0 || t.length % out != 0 || x.length / in != t.length / out) {
            throw new IllegalArgumentException(name + ": x has " + x.length + " values and t " + t.length
                    + ", which are not the same number of rows of I = " + in + " and O = " + out);
        }
        this.name = name;
        this.in = in;
        this.out = out;
        this.x = x;
        this.t = t;
        this.tokens = x.length / in;
    }

    @Override
    public long tokens() {
        return tokens;
    }

    @Override
    public void read(long row, int count, float[] xo, float[] to, int at) {
        Objects.checkFromIndexSize(row, count, tokens);
        System.arraycopy(x, Math.toIntExact(row * in), xo, at * in, count * in);
        System.arraycopy(t, Math.toIntExact(row * out), to, at * out, count * out);
    }

    @Override
    public String describe(long row) {
        return name + " row " + row;
    }
}
