package dev.mxd.cli;

import dev.mxd.Backend;
import dev.mxd.Backends;
import dev.mxd.explore.ExplorerServer;
import dev.mxd.explore.LiveSession;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Serves the explorer's site and its live page: type a text and see each token's experts, steer an"
                + " expert (add or set a value at every token) and see how the sentence embedding moves and which"
                + " held-out documents come nearest, before and after.",
                "Prints the address once it is ready; Ctrl-C stops it. Listens on 127.0.0.1 unless --bind says"
                        + " otherwise. The layer the model replaces is the one DIR/manifest.json records, or --layer."})
final class ServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "PATH",
            description = "Model directory (mxd.safetensors + cfg.json), .safetensors file or reference .pt.")
    Path model;

    @Option(names = "--data", required = true, paramLabel = "DIR",
            description = "The activation directory the model was trained on (./mxd harvest).")
    Path data;

    @Option(names = "--site", required = true, paramLabel = "SITE", description = "The site ./mxd explore wrote.")
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

    @Option(names = "--backend", paramLabel = "NAME",
            description = "cpu, opencl, reference or auto (default: -Dmxd.backend, else $MXD_BACKEND, else auto).")
    String backend;

    @Override
    public Integer call() throws Exception {
        if (port < 0 || port > 65_535) {
            throw new IllegalArgumentException("--port must be in 0..65535, got " + port);
        }
        InetAddress address = InetAddress.getByName(bind);
        Backend chosen = backend == null ? Backends.select() : Backends.select(backend);
        PrintWriter out = spec.commandLine().getOut();
        LiveSession session = LiveSession.open(model, data, layer, heldOut, chosen);
        ExplorerServer server;
        try {
            server = ExplorerServer.start(site, session.live(), new InetSocketAddress(address, port), threads);
        } catch (Exception | Error e) {
            session.close();
            throw e;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            session.close();
            stopped.countDown();
        }, "mxd-serve-stop"));
        out.println("mxd explorer: " + server.uri() + " (layer " + session.live().layer() + ", "
                + session.live().experts() + " experts, backend " + chosen.name() + "; Ctrl-C stops it)");
        out.flush();
        stopped.await();
        return 0;
    }
}
