package dev.mxd.cli;

public final class Main {
    public static void main(String[] args) {
    }
}
