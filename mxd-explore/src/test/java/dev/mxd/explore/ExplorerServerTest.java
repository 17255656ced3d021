package dev.mxd.explore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.mxd.checkpoint.Json;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExplorerServerTest {
    @TempDir
    static Path tmp;
    static Fixtures.Live live;
    static ExplorerServer server;
    static final HttpClient CLIENT = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws IOException {
        Path site = tmp.resolve("site");
        SiteWriter.write(Fixtures.atlas(), Fixtures.labels(), site);
        live = Fixtures.live();
        server = ExplorerServer.start(site, live.live(), new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 4);
    }

    @AfterAll
    static void stop() {
        server.close();
        live.close();
    }

    static HttpResponse<String> post(String path, String body) throws Exception {
        return CLIENT.send(HttpRequest.newBuilder(server.uri().resolve(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(String path) throws Exception {
        return CLIENT.send(HttpRequest.newBuilder(server.uri().resolve(path)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** A 4xx answer: the status, a JSON body with an error message holding {@code words}, no stack trace. */
    static void assertError(HttpResponse<String> r, int status, String words) {
        assertEquals(status, r.statusCode(), r.body());
        Map<String, Object> o = Json.parseObject(r.body(), "error body");
        String message = (String) o.get("error");
        assertTrue(message.contains(words), message);
        assertFalse(r.body().contains("Exception") || r.body().contains("at dev.mxd"), r.body());
    }

    @Test
    void codesGivesEachTokenItsExperts() throws Exception {
        HttpResponse<String> r = post("api/codes", "{\"text\": \"the Council votes <b>today</b>\"}");
        assertEquals(200, r.statusCode(), r.body());
        Map<String, Object> o = Json.parseObject(r.body(), "codes");
        List<?> tokens = (List<?>) o.get("tokens");
        assertEquals(4, tokens.size(), "the real tokens: [CLS] and [SEP] left out");
        Map<?, ?> council = (Map<?, ?>) tokens.get(1);
        assertEquals("Council", council.get("text"));
        List<?> codes = (List<?>) council.get("codes");
        assertTrue(!codes.isEmpty() && codes.size() <= 4, codes.toString());
        for (Object c : codes) {
            int e = (Integer) ((Map<?, ?>) c).get("expert");
            assertTrue(e >= 0 && e < Fixtures.EXPERTS);
        }
        assertEquals(1, o.get("layer"));
    }

    @Test
    void steeringMovesTheEmbeddingAndZeroLeavesIt() throws Exception {
        String text = "the parliament debate on the union proposal";
        HttpResponse<String> r = post("api/steer",
                "{\"text\": \"" + text + "\", \"expert\": 5, \"value\": 40, \"mode\": \"add\"}");
        assertEquals(200, r.statusCode(), r.body());
        Map<String, Object> o = Json.parseObject(r.body(), "steer");
        double cosine = ((Number) o.get("cosine")).doubleValue();
        assertTrue(cosine < 0.999 && cosine >= -1, "adding 40 to an expert everywhere moves the embedding: " + cosine);
        assertEquals(LiveModel.NEAREST, ((List<?>) o.get("before")).size());
        assertEquals(LiveModel.NEAREST, ((List<?>) o.get("after")).size());
        Map<String, Object> zero = Json.parseObject(post("api/steer",
                "{\"text\": \"" + text + "\", \"expert\": 5, \"value\": 0, \"mode\": \"add\"}").body(), "steer");
        assertEquals(1, ((Number) zero.get("cosine")).doubleValue(), 1e-6);
        assertEquals(zero.get("before"), zero.get("after"));
    }

    @Test
    void badRequestsGetAStatusAndAMessage() throws Exception {
        assertError(post("api/codes", "{}"), 400, "no field \"text\"");
        assertError(post("api/codes", "{\"text\": 5}"), 400, "\"text\" must be a string");
        assertError(post("api/codes", "{\"text\": \"   \"}"), 400, "the text is empty");
        assertError(post("api/codes", "{\"text\": "), 400, "malformed JSON");
        assertError(post("api/codes", "[1, 2]"), 400, "not a JSON object");
        assertError(post("api/steer", "{\"text\": \"a vote\", \"value\": 1, \"mode\": \"add\"}"), 400,
                "no field \"expert\"");
        assertError(post("api/steer", "{\"text\": \"a vote\", \"expert\": 24, \"value\": 1, \"mode\": \"add\"}"), 400,
                "expert 24 is out of range: the model has experts 0 to 23");
        assertError(post("api/steer", "{\"text\": \"a vote\", \"expert\": -1, \"value\": 1, \"mode\": \"add\"}"), 400,
                "out of range");
        assertError(post("api/steer", "{\"text\": \"a vote\", \"expert\": 1.5, \"value\": 1, \"mode\": \"add\"}"),
                400, "\"expert\" must be an integer");
        assertError(post("api/steer", "{\"text\": \"a vote\", \"expert\": 1, \"value\": 1, \"mode\": \"mul\"}"), 400,
                "mode must be \"add\" or \"set\"");
        assertError(post("api/steer", "{\"text\": \"a vote\", \"expert\": 1, \"value\": 1e99, \"mode\": \"add\"}"),
                400, "\"value\" must be a finite number");
        assertError(post("api/codes", "{\"text\": \"" + "a".repeat(ExplorerServer.MAX_TEXT + 1) + "\"}"), 400,
                "chars, at most");
        assertError(CLIENT.send(HttpRequest.newBuilder(server.uri().resolve("api/codes"))
                .header("Content-Type", "text/plain").POST(HttpRequest.BodyPublishers.ofString("{\"text\": \"a\"}"))
                .build(), HttpResponse.BodyHandlers.ofString()), 415, "must be JSON");
        assertError(get("api/nothing"), 404, "no such API");
        assertError(get("%2e%2e/%2e%2e/etc/hostname"), 404, "not found");
        assertError(get("experts/999.html"), 404, "not found");
    }

    @Test
    void aWrongMethodGets405WithAllow() throws Exception {
        HttpResponse<String> r = get("api/codes");
        assertError(r, 405, "takes POST, not GET");
        assertEquals("POST", r.headers().firstValue("Allow").orElseThrow());
        HttpResponse<String> p = post("index.html", "{}");
        assertError(p, 405, "takes GET or HEAD, not POST");
        assertEquals("GET, HEAD", p.headers().firstValue("Allow").orElseThrow());
        assertError(post("api/info", "{}"), 405, "takes GET");
    }

    @Test
    void anOversizedBodyIsRefusedAndTheServerGoesOn() throws Exception {
        String big = "{\"text\": \"" + "a".repeat(ExplorerServer.MAX_BODY) + "\"}";
        try {
            assertError(post("api/codes", big), 413, "larger than " + ExplorerServer.MAX_BODY + " bytes");
        } catch (IOException closed) {
            // The server may close the connection before the client has sent the whole body; that refuses it too.
        }
        assertEquals(200, post("api/codes", "{\"text\": \"still serving\"}").statusCode());
    }

    @Test
    void theSiteIsServedWithItsPolicy() throws Exception {
        HttpResponse<String> index = get("");
        assertEquals(200, index.statusCode());
        assertTrue(index.body().contains("<table id=\"experts\">"));
        assertTrue(index.headers().firstValue("Content-Security-Policy").orElseThrow().contains("script-src 'self'"));
        assertEquals("text/javascript; charset=utf-8",
                get("assets/index.js").headers().firstValue("Content-Type").orElseThrow());
        assertError(get(SiteWriter.MARKER), 404, "not found");
        Map<String, Object> info = Json.parseObject(get("api/info").body(), "info");
        assertEquals(Fixtures.EXPERTS, info.get("experts"));
    }

    @Test
    void twentyConcurrentRequestsAnswerAsOneAtATime() throws Exception {
        List<String[]> requests = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            String text = "the council vote " + i + " on the report of member state " + (i * 7);
            requests.add(i % 2 == 0
                    ? new String[]{"api/codes", "{\"text\": \"" + text + "\"}"}
                    : new String[]{"api/steer", "{\"text\": \"" + text + "\", \"expert\": " + i + ", \"value\": "
                    + (i * 3) + ", \"mode\": \"" + (i % 4 == 1 ? "add" : "set") + "\"}"});
        }
        List<Map<String, Object>> sequential = new ArrayList<>();
        for (String[] q : requests) {
            sequential.add(answer(post(q[0], q[1])));
        }
        List<CompletableFuture<HttpResponse<String>>> futures = new ArrayList<>();
        for (String[] q : requests) {
            futures.add(CLIENT.sendAsync(HttpRequest.newBuilder(server.uri().resolve(q[0]))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(q[1]))
                    .build(), HttpResponse.BodyHandlers.ofString()));
        }
        for (int i = 0; i < requests.size(); i++) {
            assertEquals(sequential.get(i), answer(futures.get(i).get()), "request " + i);
        }
    }

    /** The answer without its timing. */
    private static Map<String, Object> answer(HttpResponse<String> r) {
        assertEquals(200, r.statusCode(), r.body());
        Map<String, Object> o = Json.parseObject(r.body(), "answer");
        o.remove("millis");
        return o;
    }
}
