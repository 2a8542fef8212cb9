package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// field is one setting, found by walking Config's yaml tags.
type field struct {
	key    string // yaml path, e.g. smtp.host
	env    string // LIVEHOUSE_SMTP_HOST
	flag   string // smtp-host
	help   string
	secret bool
	value  reflect.Value
}

func fields(c *Config) []field {
	var out []field
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		t := v.Type()
		for i := range t.NumField() {
			sf := t.Field(i)
			name := sf.Tag.Get("yaml")
			if name == "" {
				continue
			}
			if sf.Type.Kind() == reflect.Struct {
				walk(v.Field(i), prefix+name+".")
				continue
			}
			key := prefix + name
			flat := strings.ReplaceAll(key, ".", "_")
			out = append(out, field{
				key:    key,
				env:    "LIVEHOUSE_" + strings.ToUpper(flat),
				flag:   strings.ReplaceAll(flat, "_", "-"),
				help:   sf.Tag.Get("help"),
				secret: sf.Tag.Get("secret") == "true",
				value:  v.Field(i),
			})
		}
	}
	walk(reflect.ValueOf(c).Elem(), "")
	return out
}

// set parses s into the field's value; lists are comma-separated.
func (f field) set(s string) error {
	switch f.value.Kind() {
	case reflect.String:
		f.value.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		f.value.SetBool(b)
	case reflect.Int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		f.value.SetInt(int64(n))
	case reflect.Slice:
		var list []string
		for _, item := range strings.Split(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				list = append(list, item)
			}
		}
		f.value.Set(reflect.ValueOf(list))
	default:
		return fmt.Errorf("unsupported setting type %s", f.value.Kind())
	}
	return nil
}

func (f field) String() string {
	if f.secret && !f.value.IsZero() {
		return "********"
	}
	switch f.value.Kind() {
	case reflect.Slice:
		return strings.Join(f.value.Interface().([]string), ",")
	default:
		return fmt.Sprint(f.value.Interface())
	}
}

// Load builds the effective configuration from the stage defaults, the file named by
// --config, the environment and the flags in args, then validates it. Arguments after the
// flags are returned. Errors wrap ErrInvalid (or flag.ErrHelp) so the caller can exit 2.
func Load(name string, args []string, getenv func(string) string, stderr io.Writer) (Config, []string, error) {
	// Flags are parsed first into strings, so that the stage is known before defaults apply.
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", getenv("LIVEHOUSE_CONFIG"), "YAML configuration file")
	var probe Config
	flagValues := map[string]*string{}
	for _, f := range fields(&probe) {
		flagValues[f.flag] = fs.String(f.flag, "", f.help+" (env "+f.env+")")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, nil, err
		}
		return Config{}, nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	var file []byte
	if *configFile != "" {
		var err error
		if file, err = os.ReadFile(*configFile); err != nil {
			return Config{}, nil, fmt.Errorf("%w: reading config file: %v", ErrInvalid, err)
		}
	}

	stage := "dev"
	var fileStage struct {
		Stage string `yaml:"stage"`
	}
	if err := yaml.Unmarshal(file, &fileStage); err != nil {
		return Config{}, nil, fmt.Errorf("%w: config file %s: %v", ErrInvalid, *configFile, err)
	}
	for _, s := range []string{fileStage.Stage, getenv("LIVEHOUSE_STAGE"), *flagValues["stage"]} {
		if s != "" {
			stage = s
		}
	}

	cfg := Defaults(stage)
	cfg.Stage = stage
	if len(file) > 0 {
		dec := yaml.NewDecoder(strings.NewReader(string(file)))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
			return Config{}, nil, fmt.Errorf("%w: config file %s: %v", ErrInvalid, *configFile, err)
		}
	}
	for _, f := range fields(&cfg) {
		if v, ok := lookup(getenv, f.env); ok {
			if err := f.set(v); err != nil {
				return Config{}, nil, fmt.Errorf("%w: %s: %v", ErrInvalid, f.env, err)
			}
		}
		if set[f.flag] {
			if err := f.set(*flagValues[f.flag]); err != nil {
				return Config{}, nil, fmt.Errorf("%w: --%s: %v", ErrInvalid, f.flag, err)
			}
		}
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, nil, err
	}
	return cfg, fs.Args(), nil
}

// lookup treats an empty variable as unset, as shells and container runtimes often export
// empty values for variables nobody meant to set.
func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

// Print writes the effective configuration as key = value lines, secrets masked.
func (c *Config) Print(w io.Writer) {
	for _, f := range fields(c) {
		fmt.Fprintf(w, "%-26s = %s\n", f.key, f)
	}
}
