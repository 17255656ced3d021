package dev.mxd.explore;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.mxd.Steering;
import dev.mxd.checkpoint.Json;
import dev.mxd.text.experts.TokenCodes;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The explorer on the JDK's HTTP server ({@code jdk.httpserver}): the static site under {@code /} and the live
 * page's API.
 * <ul>
 * <li>{@code POST /api/codes} {@code {"text"}} → {@code {"layer", "millis", "tokens": [{"token", "text",
 * "codes": [{"expert", "value"}]}]}};</li>
 * <li>{@code POST /api/steer} {@code {"text", "expert", "value", "mode": "add"|"set"}} → {@code {"expert", "value",
 * "mode", "cosine", "millis", "before": [{"doc", "cosine", "text"}], "after": [...]}};</li>
 * <li>{@code GET /api/info} → {@code {"experts", "layer", "held_out"}}.</li>
 * </ul>
 * A request body over {@link #MAX_BODY} bytes is refused with 413, a method a path does not take with 405 (and
 * {@code Allow}), a body that is not JSON, lacks a field or names an expert out of range with 400; each error's
 * body is {@code {"error": message}}, never a stack trace. Requests run on a fixed pool of threads; the
 * {@link LiveModel} is thread-safe.
 */
public final class ExplorerServer implements AutoCloseable {
    /** The largest request body accepted, in bytes. */
    public static final int MAX_BODY = 64 * 1024;
    /** The longest text accepted, in chars (the model reads at most 128 tokens of it). */
    public static final int MAX_TEXT = 10_000;

    private final HttpServer server;
    private final ExecutorService pool;
    private final Path site;
    private final LiveModel live;

    private ExplorerServer(HttpServer server, ExecutorService pool, Path site, LiveModel live) {
        this.server = server;
        this.pool = pool;
        this.site = site;
        this.live = live;
    }

    /**
     * Binds and starts the server.
     *
     * @param site    the directory of a site written by {@link SiteWriter}
     * @param live    what the API computes
     * @param address where to listen (port 0: any free port)
     * @param threads the threads that answer requests, ≥ 1
     * @throws IOException when the address cannot be bound
     */
    public static ExplorerServer start(Path site, LiveModel live, InetSocketAddress address, int threads)
            throws IOException {
        Objects.requireNonNull(live, "live");
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        Path root = site.toAbsolutePath().normalize();
        if (!Files.isRegularFile(root.resolve(SiteWriter.MARKER))) {
            throw new IllegalArgumentException(site + " is not an explorer site (no " + SiteWriter.MARKER + ")");
        }
        HttpServer server = HttpServer.create(address, 0);
        AtomicInteger count = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "mxd-explore-" + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        ExplorerServer s = new ExplorerServer(server, pool, root, live);
        server.createContext("/", s::handle);
        server.setExecutor(pool);
        server.start();
        return s;
    }

    /** The address the server listens on, e.g. {@code http://127.0.0.1:8080/}. */
    public URI uri() {
        InetSocketAddress a = server.getAddress();
        String host = a.getAddress().isAnyLocalAddress() ? "127.0.0.1" : a.getAddress().getHostAddress();
        return URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort() + "/");
    }

    /** Stops listening, lets requests in flight finish for up to a second, and stops the threads. */
    @Override
    public void close() {
        server.stop(1);
        pool.shutdownNow();
        try {
            pool.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** An answer other than 200, with the message for the client. */
    private static final class HttpError extends Exception {
        final int status;

        HttpError(int status, String message) {
            super(message, null, false, false);
            this.status = status;
        }
    }

    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            String path = ex.getRequestURI().getPath();
            try {
                if (path.startsWith("/api/")) {
                    api(ex, path);
                } else {
                    file(ex, path);
                }
            } catch (HttpError e) {
                sendError(ex, e.status, e.getMessage());
            } catch (IllegalArgumentException e) {
                sendError(ex, 400, e.getMessage());
            } catch (IOException e) {
                throw e;
            } catch (RuntimeException | Error e) {
                // The client learns that it failed; the server's log says why.
                System.err.println("mxd serve: " + ex.getRequestMethod() + " " + path + " failed: " + e);
                sendError(ex, 500, "internal error; the server's log says more");
            }
        }
    }

    private void api(HttpExchange ex, String path) throws IOException, HttpError {
        long started = System.nanoTime();
        switch (path) {
            case "/api/info" -> {
                allow(ex, "GET");
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("experts", live.experts());
                o.put("layer", live.layer());
                o.put("held_out", live.heldOutDocuments());
                sendJson(ex, 200, o);
            }
            case "/api/codes" -> {
                allow(ex, "POST");
                Map<String, Object> body = body(ex);
                List<Object> tokens = new ArrayList<>();
                for (TokenCodes.Token t : live.codes(text(body))) {
                    List<Object> codes = new ArrayList<>(t.experts().length);
                    for (int j = 0; j < t.experts().length; j++) {
                        // An MxD's code may be 0 (relu of its gate): it adds nothing and is not shown.
                        if (t.values()[j] != 0) {
                            codes.add(Map.of("expert", t.experts()[j], "value", t.values()[j]));
                        }
                    }
                    Map<String, Object> o = new LinkedHashMap<>();
                    o.put("token", t.id());
                    o.put("text", t.text());
                    o.put("codes", codes);
                    tokens.add(o);
                }
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("layer", live.layer());
                o.put("millis", millis(started));
                o.put("tokens", tokens);
                sendJson(ex, 200, o);
            }
            case "/api/steer" -> {
                allow(ex, "POST");
                Map<String, Object> body = body(ex);
                String text = text(body);
                int expert = integer(body, "expert");
                float value = number(body, "value");
                Steering.Mode mode = switch (string(body, "mode")) {
                    case "add" -> Steering.Mode.ADD;
                    case "set" -> Steering.Mode.SET;
                    default -> throw new HttpError(400, "mode must be \"add\" or \"set\", got "
                            + Json.writeCompact(body.get("mode")));
                };
                LiveModel.Steered s = live.steer(text, expert, value, mode);
                Map<String, Object> o = new LinkedHashMap<>();
                o.put("expert", expert);
                o.put("value", value);
                o.put("mode", mode.name().toLowerCase(Locale.ROOT));
                o.put("cosine", s.cosine());
                o.put("millis", millis(started));
                o.put("before", near(s.before()));
                o.put("after", near(s.after()));
                sendJson(ex, 200, o);
            }
            default -> throw new HttpError(404, "no such API: " + path);
        }
    }

    private static List<Object> near(List<LiveModel.Near> docs) {
        List<Object> out = new ArrayList<>(docs.size());
        for (LiveModel.Near d : docs) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("doc", d.doc());
            o.put("cosine", d.cosine());
            o.put("text", d.text());
            out.add(o);
        }
        return out;
    }

    private static long millis(long started) {
        return Math.round((System.nanoTime() - started) / 1e6);
    }

    private static void allow(HttpExchange ex, String method) throws HttpError {
        if (!ex.getRequestMethod().equals(method)) {
            ex.getResponseHeaders().set("Allow", method);
            throw new HttpError(405, ex.getRequestURI().getPath() + " takes " + method + ", not "
                    + ex.getRequestMethod());
        }
    }

    /** The request's JSON object, at most {@link #MAX_BODY} bytes of UTF-8. */
    private static Map<String, Object> body(HttpExchange ex) throws IOException, HttpError {
        String type = ex.getRequestHeaders().getFirst("Content-Type");
        if (type == null || !type.toLowerCase(Locale.ROOT).startsWith("application/json")) {
            throw new HttpError(415, "the body must be JSON (Content-Type: application/json), got "
                    + (type == null ? "no Content-Type" : type));
        }
        String length = ex.getRequestHeaders().getFirst("Content-Length");
        if (length != null) {
            long declared;
            try {
                declared = Long.parseLong(length.trim());
            } catch (NumberFormatException e) {
                throw new HttpError(400, "Content-Length is not a number: " + length);
            }
            if (declared > MAX_BODY) {
                tooLarge(ex);
            }
        }
        byte[] bytes;
        try (InputStream in = ex.getRequestBody()) {
            bytes = in.readNBytes(MAX_BODY + 1);
        }
        if (bytes.length > MAX_BODY) {
            tooLarge(ex);
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new HttpError(400, "the body is not valid UTF-8");
        }
        return Json.parseObject(text, "the request body");
    }

    private static void tooLarge(HttpExchange ex) throws HttpError {
        // The rest of the body is not read: the connection is closed after the answer.
        ex.getResponseHeaders().set("Connection", "close");
        throw new HttpError(413, "the request body is larger than " + MAX_BODY + " bytes");
    }

    private static Object field(Map<String, Object> body, String name) throws HttpError {
        Object v = body.get(name);
        if (v == null) {
            throw new HttpError(400, "the request has no field \"" + name + "\"");
        }
        return v;
    }

    private static String string(Map<String, Object> body, String name) throws HttpError {
        if (field(body, name) instanceof String s) {
            return s;
        }
        throw new HttpError(400, "\"" + name + "\" must be a string, got " + Json.writeCompact(body.get(name)));
    }

    private static String text(Map<String, Object> body) throws HttpError {
        String text = string(body, "text");
        if (text.length() > MAX_TEXT) {
            throw new HttpError(400, "the text has " + text.length() + " chars, at most " + MAX_TEXT + " are read");
        }
        return text;
    }

    private static int integer(Map<String, Object> body, String name) throws HttpError {
        if (field(body, name) instanceof Integer i) {
            return i;
        }
        throw new HttpError(400, "\"" + name + "\" must be an integer, got " + Json.writeCompact(body.get(name)));
    }

    private static float number(Map<String, Object> body, String name) throws HttpError {
        if (field(body, name) instanceof Number n && Float.isFinite(n.floatValue())) {
            return n.floatValue();
        }
        throw new HttpError(400, "\"" + name + "\" must be a finite number, got " + Json.writeCompact(body.get(name)));
    }

    private void file(HttpExchange ex, String path) throws IOException, HttpError {
        String method = ex.getRequestMethod();
        if (!method.equals("GET") && !method.equals("HEAD")) {
            ex.getResponseHeaders().set("Allow", "GET, HEAD");
            throw new HttpError(405, path + " takes GET or HEAD, not " + method);
        }
        String relative = path.equals("/") ? "index.html" : path.substring(1);
        Path file = site.resolve(relative).normalize();
        if (!file.startsWith(site) || !Files.isRegularFile(file) || file.getFileName().toString().startsWith(".")) {
            throw new HttpError(404, "not found: " + path);
        }
        Headers h = ex.getResponseHeaders();
        h.set("Content-Type", contentType(file.getFileName().toString()));
        security(h);
        long size = Files.size(file);
        if (method.equals("HEAD")) {
            ex.sendResponseHeaders(200, -1);
            return;
        }
        ex.sendResponseHeaders(200, size == 0 ? -1 : size);
        try (OutputStream out = ex.getResponseBody()) {
            Files.copy(file, out);
        }
    }

    /** Defence in depth beside the escaping: no script but the site's own files, no framing, no sniffing. */
    private static void security(Headers h) {
        h.set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
                + " img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
        h.set("X-Content-Type-Options", "nosniff");
        h.set("Referrer-Policy", "no-referrer");
    }

    private static String contentType(String name) {
        int dot = name.lastIndexOf('.');
        return switch (dot < 0 ? "" : name.substring(dot + 1)) {
            case "html" -> "text/html; charset=utf-8";
            case "js" -> "text/javascript; charset=utf-8";
            case "css" -> "text/css; charset=utf-8";
            case "json" -> "application/json";
            case "svg" -> "image/svg+xml";
            case "png" -> "image/png";
            default -> "application/octet-stream";
        };
    }

    private static void sendError(HttpExchange ex, int status, String message) throws IOException {
        sendJson(ex, status, Map.of("error", message == null ? "bad request" : message));
    }

    private static void sendJson(HttpExchange ex, int status, Object body) throws IOException {
        byte[] bytes = Json.writeCompact(body).getBytes(StandardCharsets.UTF_8);
        Headers h = ex.getResponseHeaders();
        h.set("Content-Type", "application/json; charset=utf-8");
        h.set("Cache-Control", "no-store");
        security(h);
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }
}
