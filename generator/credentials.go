package generator

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// credentialWords are the last words of names that hold credentials.
var credentialWords = map[string]bool{
	"password": true, "passwd": true, "pwd": true, "pass": true, "passphrase": true,
	"secret": true, "token": true, "key": true, "apikey": true, "credential": true,
	"credentials": true, "salt": true,
}

// genericWords alone name a field, not a credential: Kubernetes' "key"
// (secretKeyRef.key, items[].key, a toleration's key) and the like.
var genericWords = map[string]bool{"key": true, "secret": true, "pass": true, "salt": true, "token": true}

// CredentialName reports whether a variable or setting name looks like it
// holds a credential: its last word (split at _ - . and case changes) is
// password, secret, token, key, salt... and it does not say "public".
// SECRET_KEY, EMAIL_HOST_PASSWORD and apiToken do; SECRET_NAME,
// REQUIRED_SECRET_0_FROM, PUBLIC_KEY and a bare "key" do not.
func CredentialName(name string) bool {
	words := SplitWords(name)
	if len(words) == 0 {
		return false
	}
	for _, w := range words {
		if w == "public" {
			return false
		}
	}
	if len(words) == 1 && genericWords[words[0]] {
		return false
	}
	return credentialWords[words[len(words)-1]]
}

// SplitWords splits a name into lower-case words at _ - . and spaces and
// where a lower-case letter is followed by an upper-case one:
// "EMAIL_HOST_PASSWORD" and "emailHostPassword" both give email, host,
// password.
func SplitWords(name string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	runes := []rune(name)
	for i, r := range runes {
		switch {
		case r == '_' || r == '-' || r == '.' || unicode.IsSpace(r):
			flush()
		case unicode.IsUpper(r) && i > 0 && unicode.IsLower(runes[i-1]):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
	}
	flush()
	return words
}

// secretWords are the last words of names that certainly hold a secret.
// "pass" counts only after another word (EMAIL_PASS), never alone.
var secretWords = map[string]bool{
	"password": true, "passwd": true, "pwd": true, "pass": true, "passphrase": true, "secret": true,
	"token": true, "credential": true, "credentials": true, "salt": true, "apikey": true,
}

// secretKeyQualifiers make a last word "key" a secret: SECRET_KEY,
// AWS_SECRET_ACCESS_KEY, MAILGUN_API_KEY, FLEIO_LICENSE_KEY, a signing or
// private key.
var secretKeyQualifiers = map[string]bool{"secret": true, "private": true, "access": true, "api": true, "signing": true, "encryption": true, "master": true, "auth": true, "license": true, "fernet": true}

// SecretKeyQualifier reports whether word, right before a last word "key",
// makes the key a secret (secret, private, access, api, license...).
func SecretKeyQualifier(word string) bool { return secretKeyQualifiers[word] }

// numberedWords are a name's words without a trailing number:
// EMAIL_HOST_PASSWORD_2 and AWS_SECRET_ACCESS_KEY2 name the same kind of
// secret as EMAIL_HOST_PASSWORD and AWS_SECRET_ACCESS_KEY.
func numberedWords(name string) []string {
	words := SplitWords(name)
	for len(words) > 1 && allDigits(words[len(words)-1]) {
		words = words[:len(words)-1]
	}
	if n := len(words); n > 0 {
		if w := strings.TrimRightFunc(words[n-1], unicode.IsDigit); w != "" {
			words[n-1] = w
		}
	}
	return words
}

// publicName reports whether the words of a name say that its last word is
// meant to be public: public or publishable right before the last word
// (PUBLIC_KEY, STRIPE_PUBLISHABLE_KEY), or site right before a last word
// "key" (RECAPTCHA_SITE_KEY). Elsewhere in the name they prove nothing:
// SITE_EMAIL_HOST_PASSWORD is a password.
func publicName(words []string) bool {
	if len(words) < 2 {
		return false
	}
	last, before := words[len(words)-1], words[len(words)-2]
	return before == "public" || before == "publishable" || before == "site" && last == "key"
}

// SecretSettingName reports whether a setting name may hold a secret
// (secretSetting's strong or weak evidence).
func SecretSettingName(name string, browser bool) bool {
	strong, weak := secretSetting(name, browser)
	return strong || weak
}

// secretSettingValue reports whether a setting, or a key inside one, holds
// a secret in git, for validation, which refuses it: a value (see
// holdsValue) under a name that names a secret, or a string under a name
// that names several (FERNET_KEYS: [...], API_TOKENS) or a secret key
// anywhere (SECRET_KEY_FALLBACKS). So MAX_TOKENS: 4096, ENABLE_API_KEYS:
// true, SECRET_KEY_ROTATION_DAYS: 90 and CORS_ALLOW_CREDENTIALS: true pass.
func secretSettingValue(name string, browser bool, v any) bool {
	strong, weak := secretSetting(name, browser)
	return strong && holdsValue(v) || weak && holdsString(v)
}

// secretSetting weighs a setting name: strong when it names a secret,
// numbered or not (EMAIL_HOST_PASSWORD, EMAIL_HOST_PASSWORD_2,
// AWS_SECRET_ACCESS_KEY2); weak when only its plural form or a "secret
// key" inside it does (FERNET_KEYS, API_TOKENS, SECRET_KEY_FALLBACKS),
// which a count or a switch can also be named.
func secretSetting(name string, browser bool) (strong, weak bool) {
	words := numberedWords(name)
	if len(words) == 0 {
		return false, false
	}
	if secretWordsName(words, browser) {
		return true, false
	}
	last := words[len(words)-1]
	if w, ok := strings.CutSuffix(last, "s"); ok && (w == "key" || secretWords[w]) {
		singular := append(slices.Clone(words[:len(words)-1]), w)
		if secretWordsName(singular, browser) {
			return false, true
		}
	}
	if !publicName(words) {
		for i := 0; i+1 < len(words); i++ {
			if words[i] == "secret" && (words[i+1] == "key" || words[i+1] == "keys") {
				return false, true
			}
		}
	}
	return false, false
}

// secretWordsName is the rule for a name's words: a last word "key"
// counts only after secret, private, access, api, license..., "pass" only
// after another word, and a last word qualified as public (publicName) is
// never a secret. For browser settings (served to every visitor, so never
// secret to begin with) tokens and API keys are allowed: only passwords,
// secrets, credentials and private or license keys are refused.
func secretWordsName(words []string, browser bool) bool {
	if len(words) == 0 || publicName(words) {
		return false
	}
	last := words[len(words)-1]
	if browser {
		switch last {
		case "password", "passwd", "pwd", "passphrase", "secret", "credential", "credentials":
			return true
		case "pass":
			return len(words) > 1
		case "key":
			return len(words) > 1 && (words[len(words)-2] == "private" || words[len(words)-2] == "secret" || words[len(words)-2] == "license")
		}
		return false
	}
	if last == "key" {
		return len(words) > 1 && secretKeyQualifiers[words[len(words)-2]]
	}
	return secretWords[last] && !(len(words) == 1 && genericWords[last])
}

// secretValueRes recognise secrets by their value, whatever the name that
// holds them: the reason each gives ends "holds ...".
var secretValueRes = []struct {
	re  *regexp.Regexp
	why string
}{
	// scheme://user:password@host, the password not empty.
	{regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^/?#@\s:]*:[^/?#@\s]+@`), "a URL with a password"},
	{regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----`), "a PEM private key"},
	{regexp.MustCompile(`(^|[^A-Za-z0-9_])sk_(live|test)_[A-Za-z0-9]`), "a Stripe secret key (sk_live_... or sk_test_...)"},
	{regexp.MustCompile(`(^|[^A-Za-z0-9_])rk_(live|test)_[A-Za-z0-9]`), "a Stripe restricted key (rk_live_... or rk_test_...)"},
	{regexp.MustCompile(`(^|[^A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]`), "a GitHub token (ghp_..., gho_..., ghu_..., ghs_... or ghr_...)"},
	{regexp.MustCompile(`(^|[^A-Za-z0-9_])github_pat_[A-Za-z0-9]`), "a GitHub token (github_pat_...)"},
	{regexp.MustCompile(`(^|[^A-Za-z0-9_-])glpat-[A-Za-z0-9_-]`), "a GitLab token (glpat-...)"},
	{regexp.MustCompile(`(^|[^A-Za-z0-9_])xox[abprs]-[A-Za-z0-9]`), "a Slack token (xoxb-, xoxp-, xoxa-, xoxr- or xoxs-...)"},
	{regexp.MustCompile(`(^|[^A-Za-z0-9])(AKIA|ASIA)[0-9A-Z]{16}([^A-Za-z0-9]|$)`), "an AWS access key ID (AKIA... or ASIA...)"},
}

// secretValue says what secret a string value holds ("a URL with a
// password", "a PEM private key", "a GitHub token (ghp_...)"), or "". The
// reason never quotes the value.
func secretValue(s string) string {
	for _, r := range secretValueRes {
		if r.re.MatchString(s) {
			return r.why
		}
	}
	return ""
}

// keyHolding is secretValue's reason for a mapping key.
func keyHolding(why string) string { return "a key that is " + why }

// secretFound is a secret inside a setting's value.
type secretFound struct {
	// Path is where, inside the value: ".default.OPTIONS.PASSWORD",
	// "[2]", or "" for the value itself.
	Path string
	// Value is what the value holds (secretValue's reason), or "" when
	// the name of a mapping key says it is a secret.
	Value string
}

// holdsValue reports whether a value under a secret's name holds one: a
// non-empty string, a number (PASSWORD: 123456789), or a list with such a
// value in it. Mappings are walked key by key instead; null, false and ""
// hold nothing.
func holdsValue(v any) bool {
	switch t := v.(type) {
	case string:
		return t != ""
	case float64, json.Number:
		return true
	case []any:
		for _, e := range t {
			if holdsValue(e) {
				return true
			}
		}
	}
	return false
}

// holdsString reports whether a value is or holds a non-empty string.
func holdsString(v any) bool {
	switch t := v.(type) {
	case string:
		return t != ""
	case []any:
		return slices.ContainsFunc(t, holdsString)
	}
	return false
}

// secretsInside returns, in order, every place inside a setting's JSON
// value that holds a secret: a mapping key that names a secret and holds a
// value (CACHES: {default: {OPTIONS: {PASSWORD: ...}}}, see holdsValue), and
// any string, at any depth, whose value is a secret (secretValue), such as
// a URL with a password. The setting's own name is the caller's to check.
func secretsInside(raw json.RawMessage, browser bool) []secretFound {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	var found []secretFound
	var walk func(v any, p string)
	walk = func(v any, p string) {
		switch t := v.(type) {
		case string:
			if why := secretValue(t); why != "" {
				found = append(found, secretFound{Path: p, Value: why})
			}
		case map[string]any:
			for _, k := range sortedKeys(t) {
				// A key is written to the file as a value is; its path
				// would quote it, so the mapping's is given instead.
				if why := secretValue(k); why != "" {
					found = append(found, secretFound{Path: p, Value: keyHolding(why)})
					continue
				}
				if secretSettingValue(k, browser, t[k]) {
					found = append(found, secretFound{Path: p + "." + k})
					continue
				}
				walk(t[k], p+"."+k)
			}
		case []any:
			for i, e := range t {
				walk(e, fmt.Sprintf("%s[%d]", p, i))
			}
		}
	}
	walk(v, "")
	return found
}
