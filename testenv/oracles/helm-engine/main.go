// helm-engine prints what Helm's template engine renders for a chart, before Helm parses, sorts and joins the
// documents: the reference for tack's Go template and Sprig golden cases, whose outputs need not be YAML.
//
//	helm-engine CHART_DIR [VALUES_FILE...]
//
// Output: a JSON object {"templates/x.yaml": "rendered text", ...} with the chart name prefix removed, or, when
// rendering fails, {"error": "the message"} (exit status 0 in both cases, so that errors are goldens too).
// Release: name "release", namespace "default", IsInstall true, Revision 1; capabilities: Helm's defaults.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader"
	"helm.sh/helm/v4/pkg/engine"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: helm-engine CHART_DIR [VALUES_FILE...]")
		os.Exit(2)
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
