package dev.passgate.keycloak;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.jboss.logging.Logger;
import org.keycloak.util.JsonSerialization;

/**
 * passgate's v1 API as this extension calls it: {@code POST /v1/users/{userId}/change-password}
 * and {@code GET /v1/password-policy?userId=}, authenticated with an API key ({@code X-API-Key})
 * that holds passgate's admin role.
 *
 * <p>Neither the passwords nor the key ever reach a log line or an exception message: failures
 * are logged with passgate's base URL, the HTTP status, passgate's error code and the Java
 * exception's class only. Redirects are never followed, so the key goes nowhere but the
 * configured URL.
 */
public final class PassgateClient {

    private static final Logger LOG = Logger.getLogger(PassgateClient.class);
    private static final int MAX_ANSWER_BYTES = 64 * 1024;

    private final HttpClient http;

    public PassgateClient(HttpClient http) {
        this.http = http;
    }

    /** One HTTP client for the whole server: HTTP/1.1, no redirects, a connect timeout. */
    public static PassgateClient create() {
        return new PassgateClient(
                HttpClient.newBuilder()
                        .version(HttpClient.Version.HTTP_1_1)
                        .followRedirects(HttpClient.Redirect.NEVER)
                        .connectTimeout(Duration.ofSeconds(5))
                        .build());
    }

    /**
     * Ask passgate to change {@code userId}'s password; the old password proves it is the user.
     *
     * @param clientAddress the end user's address, sent as {@code X-Forwarded-For} (null: none);
     *     passgate believes it only from a peer in its {@code PASSGATE_TRUSTED_PROXIES}
     */
    public ChangeOutcome changePassword(
            PassgateSettings settings,
            String apiKey,
            String userId,
            String oldPassword,
            String newPassword,
            String clientAddress) {
        Map<String, String> body = new LinkedHashMap<>();
        body.put("oldPassword", oldPassword);
        body.put("newPassword", newPassword);
        byte[] json;
        try {
            json = JsonSerialization.writeValueAsBytes(body);
        } catch (IOException e) {
            LOG.warnf("passgate: could not encode a request (%s)", e.getClass().getName());
            return ChangeOutcome.unreachable();
        }
        HttpRequest.Builder request =
                request(settings, apiKey, "/v1/users/" + userId + "/change-password", clientAddress)
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(json));
        HttpResponse<byte[]> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (IOException e) {
            LOG.warnf(
                    "passgate at %s did not answer a change (%s)",
                    settings.baseUrl(), e.getClass().getName());
            return ChangeOutcome.unreachable();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return ChangeOutcome.unreachable();
        }
        ChangeOutcome outcome = read(response);
        if (outcome.kind() == ChangeOutcome.Kind.UNAVAILABLE
                || outcome.kind() == ChangeOutcome.Kind.MISCONFIGURED) {
            LOG.warnf(
                    "passgate at %s answered a change with HTTP %d, code %d",
                    settings.baseUrl(), outcome.status(), outcome.code());
        }
        return outcome;
    }

    /** The rules that apply to {@code userId} ({@code data} of the policy answer), if passgate says. */
    public Optional<JsonNode> policy(
            PassgateSettings settings, String apiKey, String userId, String clientAddress) {
        String path = "/v1/password-policy?userId=" + URLEncoder.encode(userId, StandardCharsets.UTF_8);
        try {
            HttpResponse<byte[]> response =
                    http.send(
                            request(settings, apiKey, path, clientAddress).GET().build(),
                            HttpResponse.BodyHandlers.ofByteArray());
            if (response.statusCode() != 200) {
                LOG.warnf(
                        "passgate at %s answered the policy with HTTP %d",
                        settings.baseUrl(), response.statusCode());
                return Optional.empty();
            }
            JsonNode data = parse(response.body()).path("data");
            return data.isObject() ? Optional.of(data) : Optional.empty();
        } catch (IOException e) {
            LOG.warnf(
                    "passgate at %s did not answer the policy (%s)",
                    settings.baseUrl(), e.getClass().getName());
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    private static HttpRequest.Builder request(
            PassgateSettings settings, String apiKey, String path, String clientAddress) {
        HttpRequest.Builder builder =
                HttpRequest.newBuilder(URI.create(settings.baseUrl() + path))
                        .timeout(settings.timeout())
                        .header("Accept", "application/json")
                        .header("X-API-Key", apiKey);
        if (settings.forwardClientAddress() && clientAddress != null && !clientAddress.isBlank()) {
            builder.header("X-Forwarded-For", clientAddress);
        }
        return builder;
    }

    /** passgate's answer as an outcome: its status and {@code error.code} decide, nothing else. */
    static ChangeOutcome read(HttpResponse<byte[]> response) {
        int status = response.statusCode();
        if (status == 200) {
            return ChangeOutcome.of(ChangeOutcome.Kind.CHANGED, status, 0);
        }
        JsonNode error;
        try {
            error = parse(response.body()).path("error");
        } catch (IOException e) {
            return ChangeOutcome.of(ChangeOutcome.Kind.UNAVAILABLE, status, 0);
        }
        int code = error.path("code").asInt(0);
        JsonNode detail = error.path("details").path(0);
        String field = detail.path("field").isTextual() ? detail.path("field").asText() : null;
        String reason = detail.path("reason").isTextual() ? detail.path("reason").asText() : null;
        long retryAfter =
                response.headers().firstValue("Retry-After").map(PassgateClient::seconds).orElse(0L);
        ChangeOutcome.Kind kind =
                switch (code) {
                    case 5023 -> ChangeOutcome.Kind.INCORRECT_PASSWORD;
                    case 5024 -> ChangeOutcome.Kind.POLICY_REJECTED;
                    case 5025 -> ChangeOutcome.Kind.PASSWORD_EXPIRED;
                    case 5026 -> ChangeOutcome.Kind.ACCOUNT_LOCKED;
                    case 4029 -> ChangeOutcome.Kind.TOO_MANY_ATTEMPTS;
                    case 1001 -> ChangeOutcome.Kind.INVALID;
                    case 5030 -> ChangeOutcome.Kind.DIRECTORY_UNAVAILABLE;
                    case 4001, 4002, 4003, 3001 -> ChangeOutcome.Kind.MISCONFIGURED;
                    default -> ChangeOutcome.Kind.UNAVAILABLE;
                };
        return new ChangeOutcome(kind, status, code, field, reason, retryAfter);
    }

    private static JsonNode parse(byte[] body) throws IOException {
        if (body == null || body.length == 0 || body.length > MAX_ANSWER_BYTES) {
            throw new IOException("no usable answer");
        }
        return JsonSerialization.mapper.readTree(body);
    }

    private static long seconds(String value) {
        try {
            return Math.max(0, Long.parseLong(value.trim()));
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
