package dev.mxd.cli;

import dev.mxd.Backend;
import dev.mxd.explore.Atlas;
import dev.mxd.explore.ExplorerServer;
import dev.mxd.explore.LiveSession;
import dev.mxd.explore.SiteWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Serves the explorer's site and its live page: type a text and see each token's experts, steer an"
                + " expert (add or set a value at every token) and see how the sentence embedding moves and which"
                + " held-out documents come nearest, before and after.",
                "Prints the address once it is ready; Ctrl-C stops it. Listens on 127.0.0.1 unless --bind says"
                        + " otherwise. The layer the model replaces is the one its cfg.json records (else"
                        + " DIR/manifest.json's), or --layer."})
final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ExpertFiles.Options files;

    @Option(names = "--site", paramLabel = "SITE",
            description = "The site ./mxd explore wrote (default: written for this run to a temporary directory,"
                    + " from --stats and --top or computed).")
    Path site;

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "8080",
            description = "TCP port (default: ${DEFAULT-VALUE}; 0: any free port).")
    int port;

    @Option(names = "--bind", paramLabel = "ADDRESS", defaultValue = "127.0.0.1",
            description = "Address to listen on (default: ${DEFAULT-VALUE}, this machine only).")
    String bind;

    @Option(names = "--layer", paramLabel = "L", defaultValue = "-1",
            description = "The layer whose MLP the model replaces (default: the one DIR/manifest.json records).")
    int layer;

    @Option(names = "--held-out", paramLabel = "N", defaultValue = "200",
            description = "Held-out documents searched for the nearest, the first N of DIR/eval (default: ${DEFAULT-VALUE}).")
    int heldOut;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "4",
            description = "Threads answering requests (default: ${DEFAULT-VALUE}).")
    int threads;

    @Override
    public Integer call() throws Exception {
        if (port < 0 || port > 65_535) {
            throw new IllegalArgumentException("--port must be in 0..65535, got " + port);
        }
        InetAddress address = InetAddress.getByName(bind);
        Backend chosen = files.backend.select();
        PrintWriter out = spec.commandLine().getOut();
        Path temporary = null;
        Path root = site;
        LiveSession session = null;
        ExplorerServer server;
        try {
            if (root == null) {
                Atlas atlas = ExpertFiles.atlas(files, spec.commandLine().getErr());
                temporary = Files.createTempDirectory("mxd-explorer-");
                root = SiteWriter.write(atlas, Map.of(), temporary.resolve("site")).site();
            }
            session = LiveSession.open(files.model, files.data, layer, heldOut, chosen);
            server = ExplorerServer.start(root, session.live(), new InetSocketAddress(address, port), threads);
        } catch (Exception | Error e) {
            if (session != null) {
                session.close();
            }
            try {
                removeTemporary(temporary);
            } catch (IOException | RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        LiveSession live = session;
        Path remove = temporary;
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            live.close();
            try {
                removeTemporary(remove);
            } catch (IOException e) {
                System.err.println("mxd: could not remove " + remove + ": " + e.getMessage());
            }
            stopped.countDown();
        }, "mxd-serve-stop"));
        out.println("mxd explorer: " + server.uri() + " (layer " + live.live().layer() + ", "
                + live.live().experts() + " experts, backend " + chosen.name() + "; Ctrl-C stops it)");
        out.flush();
        stopped.await();
        return 0;
    }

    /** Deletes the site written for this run and its temporary directory. */
    private static void removeTemporary(Path temporary) throws IOException {
        if (temporary != null) {
            SiteWriter.delete(temporary.resolve("site"));
            Files.deleteIfExists(temporary);
        }
    }
}
