// helm-engine prints what Helm's template engine renders for a chart, before Helm parses, sorts and joins the
// documents: the reference for tack's Go template and Sprig golden cases, whose outputs need not be YAML.
//
//	helm-engine CHART_DIR [VALUES_FILE...]
//	helm-engine --text-template < CASES.jsonl
//
// Output: a JSON object {"templates/x.yaml": "rendered text", ...} with the chart name prefix removed, or, when
// rendering fails, {"error": "the message"} (exit status 0 in both cases, so that errors are goldens too).
// Release: name "release", namespace "default", IsInstall true, Revision 1; capabilities: Helm's defaults.
//
// With --text-template it runs Go's text/template itself (no Helm functions, missingkey=zero) on each input
// line {"tpl": TEXT, "data": JSON} and prints {"out": TEXT} or {"err": MESSAGE} per line: the reference for
// the engine's differential cases. A line without "data" uses the data of the line before.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/template"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader"
	"helm.sh/helm/v4/pkg/engine"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: helm-engine CHART_DIR [VALUES_FILE...] | helm-engine --text-template < CASES.jsonl")
		os.Exit(2)
	}
	if os.Args[1] == "--text-template" {
		if err := textTemplate(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	out, err := render(os.Args[1], os.Args[2:])
	var doc any
	if err != nil {
		doc = map[string]string{"error": err.Error()}
	} else {
		doc = out
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func render(dir string, valueFiles []string) (map[string]string, error) {
	chrt, err := loader.Load(dir)
	if err != nil {
		return nil, err
	}
	vals := map[string]any{}
	for _, f := range valueFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		cur := map[string]any{}
		if err := yaml.Unmarshal(b, &cur); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		vals = util.MergeTables(cur, vals)
	}
	opts := common.ReleaseOptions{Name: "release", Namespace: "default", Revision: 1, IsInstall: true}
	toRender, err := util.ToRenderValues(chrt, vals, opts, common.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	rendered, err := engine.Render(chrt, toRender)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for name, text := range rendered {
		// "mychart/templates/x.yaml" -> "templates/x.yaml"; subcharts keep "charts/sub/templates/..."
		if i := strings.Index(name, "/"); i >= 0 {
			name = name[i+1:]
		}
		out[name] = text
	}
	return out, nil
}

func textTemplate() error {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	var data any
	for sc.Scan() {
		var c struct {
			Tpl  string          `json:"tpl"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return err
		}
		if c.Data != nil {
			data = nil
			if err := json.Unmarshal(c.Data, &data); err != nil {
				return err
			}
		}
		res := map[string]string{}
		t, err := template.New("t").Option("missingkey=zero").Parse(c.Tpl)
		if err != nil {
			res["err"] = err.Error()
		} else {
			var b strings.Builder
			if err := t.Execute(&b, data); err != nil {
				res["err"] = err.Error()
			} else {
				res["out"] = b.String()
			}
		}
		if err := enc.Encode(res); err != nil {
			return err
		}
	}
	return sc.Err()
}
