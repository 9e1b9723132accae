package main

import (
	"log/slog"
	"slices"
	"testing"
)

// parse runs accrued's command line on args with env as the environment
// and returns the configuration serve would get.
func parse(t *testing.T, env map[string]string, args ...string) config {
	t.Helper()
	var got config
	cmd := newCommand(func(k string) string { return env[k] }, func(cfg config, _ *slog.Logger) error {
		got = cfg
		return nil
	})
	cmd.SetArgs(legacyArgs(cmd.Flags(), args))
	if err := cmd.Execute(); err != nil {
		t.Fatalf("accrued %v: %v", args, err)
	}
	return got
}

// TestEnvironmentSetsFlags: every flag is read from ACCRUE_<FLAG> (the
// variables of earlier versions included), and the command line wins.
func TestEnvironmentSetsFlags(t *testing.T) {
	env := map[string]string{
		"ACCRUE_LISTEN":        "127.0.0.1:9000",
		"ACCRUE_DATABASE_URL":  "postgres://env/db",
		"ACCRUE_API_KEYS":      "/etc/accrue/keys",
		"ACCRUE_MAX_IN_FLIGHT": "7",
		"ACCRUE_DEMO":          "false",
		"ACCRUE_CORS_ORIGIN":   "https://a.example,https://b.example",
		"ACCRUE_LOG_FORMAT":    "json",
	}
	c := parse(t, env)
	if c.listen != "127.0.0.1:9000" || c.dbURL != "postgres://env/db" || c.keysFile != "/etc/accrue/keys" || c.inFlightMax != 7 ||
		c.loadDemo || !slices.Equal(c.corsOrigins, []string{"https://a.example", "https://b.example"}) || c.logFormat != "json" {
		t.Fatalf("from the environment: %+v", c)
	}
	c = parse(t, env, "--listen", "127.0.0.1:9001", "--max-in-flight=9", "--demo", "--cors-origin", "https://c.example", "--cors-origin", "https://d.example")
	if c.listen != "127.0.0.1:9001" || c.inFlightMax != 9 || !c.loadDemo || !slices.Equal(c.corsOrigins, []string{"https://c.example", "https://d.example"}) {
		t.Fatalf("flags must override the environment: %+v", c)
	}
	if c.dbURL != "postgres://env/db" {
		t.Fatalf("a flag not given must still come from the environment: %+v", c)
	}
	if c := parse(t, nil); c.listen != "127.0.0.1:7070" || !c.loadDemo || c.inFlightMax != 64 || c.logFormat != "text" || c.logLevel != "info" {
		t.Fatalf("defaults: %+v", c)
	}
}

// TestLegacySingleDashFlags: the single-dash long flags the standard flag
// package accepted still work.
func TestLegacySingleDashFlags(t *testing.T) {
	c := parse(t, nil, "-listen", "127.0.0.1:9002", "-demo=false", "-max-in-flight", "3")
	if c.listen != "127.0.0.1:9002" || c.loadDemo || c.inFlightMax != 3 {
		t.Fatalf("single-dash flags: %+v", c)
	}
}

// TestBadLogSettingsRefused: an unknown --log-format or --log-level stops
// accrued before it does anything.
func TestBadLogSettingsRefused(t *testing.T) {
	for _, args := range [][]string{{"--log-format", "xml"}, {"--log-level", "loud"}} {
		cmd := newCommand(func(string) string { return "" }, func(config, *slog.Logger) error {
			t.Fatalf("%v: served", args)
			return nil
		})
		cmd.SetArgs(args)
		if err := cmd.Execute(); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
