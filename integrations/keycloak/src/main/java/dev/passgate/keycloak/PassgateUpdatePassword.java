package dev.passgate.keycloak;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import jakarta.ws.rs.core.MultivaluedMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.jboss.logging.Logger;
import org.keycloak.authentication.InitiatedActionSupport;
import org.keycloak.authentication.RequiredActionContext;
import org.keycloak.authentication.RequiredActionProvider;
import org.keycloak.component.ComponentModel;
import org.keycloak.events.Details;
import org.keycloak.events.Errors;
import org.keycloak.events.EventType;
import org.keycloak.forms.login.LoginFormsProvider;
import org.keycloak.models.RealmModel;
import org.keycloak.models.RequiredActionConfigModel;
import org.keycloak.models.UserModel;
import org.keycloak.models.utils.FormMessage;
import org.keycloak.sessions.AuthenticationSessionModel;
import org.keycloak.vault.VaultStringSecret;

/**
 * Keycloak's "update password" for users of an LDAP federation, done by passgate.
 *
 * <p>Keycloak's own action writes the password as the federation's bind account and turns any
 * refusal into "Could not modify attribute for DN". This one asks for the current password too
 * and sends both to passgate ({@code POST /v1/users/{userId}/change-password}), which binds as
 * the user and sets the password with the Password Modify extended operation, so the
 * directory's own history and quality checks apply, and says which rule refused. Its answer
 * becomes the form's message, in the user's locale, on the field it concerns.
 *
 * <p>Which users: {@link #evaluateTriggers} turns a pending {@code UPDATE_PASSWORD} of an LDAP
 * user into this action, and this action of anyone else back into {@code UPDATE_PASSWORD}; so
 * Keycloak's own action stays for everyone not in an LDAP federation. Until passgate says the
 * password changed (its success body, nothing less), the action stays pending: nothing else
 * finishes the sign-in. When the outcome cannot be known (no answer to a request that was sent,
 * or 5030), the form says the change may have happened rather than that it did not.
 */
public final class PassgateUpdatePassword implements RequiredActionProvider {

    public static final String ID = "passgate-update-password";
    static final String FORM = "passgate-update-password.ftl";
    static final String CURRENT = "password-current";
    static final String NEW = "password-new";
    static final String CONFIRM = "password-confirm";

    private static final Logger LOG = Logger.getLogger(PassgateUpdatePassword.class);
    private static final String UPDATE_PASSWORD = UserModel.RequiredAction.UPDATE_PASSWORD.name();
    private static final Pattern USER_ID = Pattern.compile("^[a-fA-F0-9]{24}$");
    private static final String LDAP_PROVIDER = "ldap";
    private static final String[][] CLASS_LIMITS = {
        {"minLowercase", "passgateCount.lowercase"},
        {"minUppercase", "passgateCount.uppercase"},
        {"minDigits", "passgateCount.digits"},
        {"minSymbols", "passgateCount.symbols"},
    };

    private final PassgateClient client;

    public PassgateUpdatePassword(PassgateClient client) {
        this.client = client;
    }

    @Override
    public InitiatedActionSupport initiatedActionSupport() {
        return InitiatedActionSupport.SUPPORTED;
    }

    @Override
    public void evaluateTriggers(RequiredActionContext context) {
        if (!settings(context.getConfig()).replaceUpdatePassword()) {
            return;
        }
        UserModel user = context.getUser();
        boolean ldap = fromLdap(context.getRealm(), user);
        String from = ldap ? UPDATE_PASSWORD : ID;
        String to = ldap ? ID : UPDATE_PASSWORD;
        if (user.getRequiredActionsStream().anyMatch(from::equals)) {
            user.removeRequiredAction(from);
            user.addRequiredAction(to);
        }
        AuthenticationSessionModel session = context.getAuthenticationSession();
        if (session != null && session.getRequiredActions().contains(from)) {
            session.removeRequiredAction(from);
            session.addRequiredAction(to);
        }
    }

    @Override
    public void requiredActionChallenge(RequiredActionContext context) {
        context.challenge(context.form().createForm(FORM));
    }

    @Override
    public void processAction(RequiredActionContext context) {
        MultivaluedMap<String, String> form = context.getHttpRequest().getDecodedFormParameters();
        if (form.containsKey("cancel-aia")) {
            context.cancel();
            return;
        }
        String current = form.getFirst(CURRENT);
        String next = form.getFirst(NEW);
        List<FormMessage> problems = new ArrayList<>();
        if (current == null || current.isEmpty()) {
            problems.add(new FormMessage(CURRENT, "passgateRequired"));
        }
        if (next == null || next.isEmpty()) {
            problems.add(new FormMessage(NEW, "passgateRequired"));
        } else if (!next.equals(form.getFirst(CONFIRM))) {
            problems.add(new FormMessage(CONFIRM, "passgateConfirmMismatch"));
        }
        if (!problems.isEmpty()) {
            refuse(context, problems);
            return;
        }

        PassgateSettings settings = settings(context.getConfig());
        UserModel user = context.getUser();
        String userId = user.getFirstAttribute(settings.userIdAttribute());
        if (!settings.complete()) {
            LOG.warnf(
                    "%s: passgate's URL or API key is not configured in realm %s",
                    ID, context.getRealm().getName());
            misconfigured(context, settings);
            return;
        }
        if (userId == null || !USER_ID.matcher(userId).matches()) {
            LOG.warnf(
                    "%s: user %s has no 24-hex %s attribute",
                    ID, user.getId(), settings.userIdAttribute());
            misconfigured(context, settings);
            return;
        }
        Optional<String> apiKey = apiKey(context, settings);
        if (apiKey.isEmpty()) {
            LOG.warnf("%s: the API key's vault secret is not found", ID);
            misconfigured(context, settings);
            return;
        }
        String address = context.getConnection().getRemoteAddr();
        ChangeOutcome outcome =
                client.changePassword(settings, apiKey.get(), userId, current, next, address);
        switch (outcome.kind()) {
            case CHANGED -> {
                context.getEvent()
                        .clone()
                        .event(EventType.UPDATE_CREDENTIAL)
                        .detail(Details.CREDENTIAL_TYPE, "password")
                        .success();
                // A pending Keycloak action for the same thing is done as well.
                user.removeRequiredAction(UPDATE_PASSWORD);
                context.success();
            }
            case INCORRECT_PASSWORD -> refuse(
                    context, outcome, List.of(new FormMessage(CURRENT, "passgateIncorrectPassword")));
            case POLICY_REJECTED -> refuse(
                    context,
                    outcome,
                    List.of(
                            refusal(
                                    context,
                                    outcome.reason(),
                                    next,
                                    () -> client.policy(settings, apiKey.get(), userId, address))));
            case PASSWORD_EXPIRED -> refuse(
                    context,
                    outcome,
                    List.of(new FormMessage(CURRENT, "passgatePasswordExpired", helpdesk(context, settings))));
            case ACCOUNT_LOCKED -> refuse(
                    context,
                    outcome,
                    List.of(
                            new FormMessage(
                                    FormMessage.GLOBAL, "passgateAccountLocked", helpdesk(context, settings))));
            case TOO_MANY_ATTEMPTS -> refuse(
                    context,
                    outcome,
                    List.of(
                            new FormMessage(
                                    FormMessage.GLOBAL,
                                    "passgateTooManyAttempts",
                                    waitFor(context.form(), outcome.retryAfterSeconds()))));
            case INVALID -> refuse(
                    context,
                    outcome,
                    List.of(
                            invalid(
                                    context,
                                    outcome,
                                    next,
                                    () -> client.policy(settings, apiKey.get(), userId, address))));
            case UNEXPECTED_ANSWER -> refuse(
                    context,
                    outcome,
                    List.of(
                            new FormMessage(
                                    FormMessage.GLOBAL,
                                    "passgateUnexpectedAnswer",
                                    helpdesk(context, settings))));
            case OUTCOME_UNKNOWN -> refuse(
                    context,
                    outcome,
                    List.of(
                            new FormMessage(
                                    FormMessage.GLOBAL,
                                    "passgateOutcomeUnknown",
                                    helpdesk(context, settings))));
            case DIRECTORY_UNAVAILABLE -> refuse(
                    context,
                    outcome,
                    List.of(
                            new FormMessage(
                                    FormMessage.GLOBAL,
                                    "passgateDirectoryUnavailable",
                                    helpdesk(context, settings))));
            case UNAVAILABLE -> refuse(
                    context,
                    outcome,
                    List.of(new FormMessage(FormMessage.GLOBAL, "passgateUnavailable")));
            case MISCONFIGURED -> misconfigured(context, settings);
        }
    }

    @Override
    public void close() {}

    // -- who is an LDAP user, and the action's settings ------------------------------------

    static boolean fromLdap(RealmModel realm, UserModel user) {
        String link = user.getFederationLink();
        if (link == null) {
            return false;
        }
        ComponentModel component = realm.getComponent(link);
        return component != null && LDAP_PROVIDER.equals(component.getProviderId());
    }

    static PassgateSettings settings(RequiredActionConfigModel config) {
        Map<String, String> values = config == null ? null : config.getConfig();
        return PassgateSettings.from(values);
    }

    /** The API key: a {@code ${vault.name}} reference resolved now, or the configured value. */
    private static Optional<String> apiKey(RequiredActionContext context, PassgateSettings settings) {
        try (VaultStringSecret secret =
                context.getSession().vault().getStringSecret(settings.apiKeyReference())) {
            return secret.get().filter(key -> !key.isBlank());
        }
    }

    // -- the form's messages ------------------------------------------------------------------

    private static void refuse(RequiredActionContext context, List<FormMessage> messages) {
        LoginFormsProvider form = context.form();
        for (FormMessage message : messages) {
            form.addError(message);
        }
        // The fields come back empty: a password is never sent back to the browser.
        context.challenge(form.createForm(FORM));
    }

    private static void refuse(
            RequiredActionContext context, ChangeOutcome outcome, List<FormMessage> messages) {
        context.getEvent()
                .clone()
                .event(EventType.UPDATE_CREDENTIAL_ERROR)
                .detail(Details.CREDENTIAL_TYPE, "password")
                .detail("passgate_code", Integer.toString(outcome.code()))
                .detail("passgate_reason", outcome.reason() == null ? "" : outcome.reason())
                .error(
                        outcome.kind() == ChangeOutcome.Kind.INCORRECT_PASSWORD
                                ? Errors.INVALID_USER_CREDENTIALS
                                : Errors.PASSWORD_REJECTED);
        refuse(context, messages);
    }

    private static void misconfigured(RequiredActionContext context, PassgateSettings settings) {
        refuse(
                context,
                List.of(
                        new FormMessage(
                                FormMessage.GLOBAL, "passgateNotConfigured", helpdesk(context, settings))));
    }

    private static String helpdesk(RequiredActionContext context, PassgateSettings settings) {
        return settings.helpdesk() != null
                ? settings.helpdesk()
                : context.form().getMessage("passgateHelpdeskDefault");
    }

    /** A policy refusal as a sentence with the rule's limit, when passgate can say it. */
    static FormMessage refusal(
            RequiredActionContext context,
            String reason,
            String newPassword,
            java.util.function.Supplier<Optional<JsonNode>> policySource) {
        String known = reason == null ? "directoryRejected" : reason;
        JsonNode policy = MissingNode.getInstance();
        if (!List.of("sameAsOld", "containsUsername", "directoryRejected").contains(known)) {
            policy = policySource.get().orElse(MissingNode.getInstance());
        }
        int length = newPassword.codePointCount(0, newPassword.length());
        switch (known) {
            case "passwordTooShort" -> {
                int min = policy.path("minLength").asInt(0);
                // A limit the password met is not why the directory refused it.
                return min > length
                        ? new FormMessage(NEW, "passgateRefused.passwordTooShort", min)
                        : new FormMessage(NEW, "passgateRefused.passwordTooShort.unknown");
            }
            case "passwordTooLong" -> {
                int max = policy.path("maxLength").asInt(0);
                return max > 0 && max < length
                        ? new FormMessage(NEW, "passgateRefused.passwordTooLong", max)
                        : new FormMessage(NEW, "passgateRefused.passwordTooLong.unknown");
            }
            case "passwordInHistory" -> {
                int history = policy.path("history").asInt(0);
                return history > 0
                        ? new FormMessage(NEW, "passgateRefused.passwordInHistory", history)
                        : new FormMessage(NEW, "passgateRefused.passwordInHistory.unknown");
            }
            case "passwordTooYoung" -> {
                long seconds = policy.path("minAgeSeconds").asLong(0);
                return seconds > 0
                        ? new FormMessage(
                                NEW,
                                "passgateRefused.passwordTooYoung",
                                duration(context.form(), seconds))
                        : new FormMessage(NEW, "passgateRefused.passwordTooYoung.unknown");
            }
            case "insufficientPasswordQuality" -> {
                List<String> wanted = new ArrayList<>();
                for (String[] limit : CLASS_LIMITS) {
                    int count = policy.path(limit[0]).asInt(0);
                    if (count > 0) {
                        wanted.add(context.form().getMessage(limit[1], count));
                    }
                }
                return wanted.isEmpty()
                        ? new FormMessage(NEW, "passgateRefused.insufficientPasswordQuality")
                        : new FormMessage(
                                NEW,
                                "passgateRefused.insufficientPasswordQuality.classes",
                                String.join(", ", wanted));
            }
            case "tooWeak" -> {
                int strength = policy.path("minStrength").asInt(0);
                return strength > 0
                        ? new FormMessage(NEW, "passgateRefused.tooWeak.strength", strength)
                        : new FormMessage(NEW, "passgateRefused.tooWeak");
            }
            case "sameAsOld", "containsUsername" -> {
                return new FormMessage(NEW, "passgateRefused." + known);
            }
            default -> {
                return new FormMessage(NEW, "passgateRefused.directoryRejected");
            }
        }
    }

    /** passgate's validation (400 / 1001) of one field, said on that field. */
    private static FormMessage invalid(
            RequiredActionContext context,
            ChangeOutcome outcome,
            String newPassword,
            java.util.function.Supplier<Optional<JsonNode>> policySource) {
        String reason = outcome.reason() == null ? "" : outcome.reason();
        boolean onNew = "newPassword".equals(outcome.field());
        boolean onCurrent = "oldPassword".equals(outcome.field());
        if (reason.contains("control characters") && (onNew || onCurrent)) {
            return new FormMessage(onNew ? NEW : CURRENT, "passgateControlCharacters");
        }
        if (onNew && reason.startsWith("must be at least")) {
            return refusal(context, "passwordTooShort", newPassword, policySource);
        }
        if (onNew && reason.startsWith("must be at most")) {
            return refusal(context, "passwordTooLong", newPassword, policySource);
        }
        if (onCurrent) {
            return new FormMessage(CURRENT, "passgateCurrentLength");
        }
        return new FormMessage(FormMessage.GLOBAL, "passgateUnavailable");
    }

    /** How long to wait, rounded up to whole minutes from a minute on. */
    static String waitFor(LoginFormsProvider form, long seconds) {
        if (seconds >= 60) {
            return form.getMessage("passgateDuration.minutes", (seconds + 59) / 60);
        }
        return form.getMessage("passgateDuration.seconds", Math.max(1, seconds));
    }

    /** A policy duration in the largest unit it is a whole number of. */
    static String duration(LoginFormsProvider form, long seconds) {
        if (seconds % 86400 == 0) {
            return form.getMessage("passgateDuration.days", seconds / 86400);
        }
        if (seconds % 3600 == 0) {
            return form.getMessage("passgateDuration.hours", seconds / 3600);
        }
        if (seconds % 60 == 0) {
            return form.getMessage("passgateDuration.minutes", seconds / 60);
        }
        return form.getMessage("passgateDuration.seconds", seconds);
    }
}
