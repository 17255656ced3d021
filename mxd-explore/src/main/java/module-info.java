/**
 * The expert explorer: a static site of a model's experts (statistics, histograms, top contexts) that opens from
 * {@code file://}, and a live page served by the JDK's HTTP server that shows a text's codes and steers an expert.
 */
module dev.mxd.explore {
    requires transitive dev.mxd.text;
    requires jdk.httpserver;

    exports dev.mxd.explore;
}
