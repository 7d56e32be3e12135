// Extracts kustomize's krusty test cases (files written with WriteK/WriteF/WriteC and the folder given to Run)
// into one folder per case.
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

var consts = map[string]string{}

func str(e ast.Expr) (string, bool) {
	switch v := e.(type) {
	case *ast.BasicLit:
		if v.Kind == token.STRING {
			s, err := strconv.Unquote(v.Value)
			return s, err == nil
		}
	case *ast.BinaryExpr:
		if v.Op == token.ADD {
			a, ok1 := str(v.X)
			b, ok2 := str(v.Y)
			return a + b, ok1 && ok2
		}
	case *ast.Ident:
		s, ok := consts[v.Name]
		return s, ok
	case *ast.CallExpr:
		if sel, ok := v.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Join" && len(v.Args) == 2 {
			a, ok1 := str(v.Args[0])
			b, ok2 := str(v.Args[1])
			return filepath.Join(a, b), ok1 && ok2
		}
	case *ast.ParenExpr:
		return str(v.X)
	}
	return "", false
}

type file struct{ path, body string }

func main() {
	src, out := os.Args[1], os.Args[2]
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, src, func(fi os.FileInfo) bool { return strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		panic(err)
	}
	var files []*ast.File
	for _, p := range pkgs {
		for _, f := range p.Files {
			files = append(files, f)
		}
	}
	// package-level string constants and vars
	for _, f := range files {
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, s := range g.Specs {
				vs, ok := s.(*ast.ValueSpec)
				if !ok {
					continue
				}
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if v, ok := str(vs.Values[i]); ok {
							consts[n.Name] = v
						}
					}
				}
			}
		}
	}
	funcs := map[string]*ast.FuncDecl{}
	for _, f := range files {
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil {
				funcs[fn.Name.Name] = fn
			}
		}
	}
	n := 0
	for _, f := range files {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || !strings.HasPrefix(fn.Name.Name, "Test") {
				continue
			}
			var written []file
			idx := 0
			bad := false
			depth := 0
			var visit func(node ast.Node) bool
			visit = func(node ast.Node) bool {
				if call, ok := node.(*ast.CallExpr); ok {
					if id, ok := call.Fun.(*ast.Ident); ok {
						if h, ok := funcs[id.Name]; ok && depth < 4 && !strings.HasPrefix(id.Name, "Test") {
							depth++
							ast.Inspect(h.Body, visit)
							depth--
						}
					}
				}
				// local consts
				if as, ok := node.(*ast.AssignStmt); ok && len(as.Lhs) == len(as.Rhs) {
					for i, l := range as.Lhs {
						if id, ok := l.(*ast.Ident); ok {
							if v, ok := str(as.Rhs[i]); ok {
								consts[id.Name] = v
							}
						}
					}
				}
				if ds, ok := node.(*ast.DeclStmt); ok {
					if g, ok := ds.Decl.(*ast.GenDecl); ok {
						for _, s := range g.Specs {
							if vs, ok := s.(*ast.ValueSpec); ok {
								for i, nm := range vs.Names {
									if i < len(vs.Values) {
										if v, ok := str(vs.Values[i]); ok {
											consts[nm.Name] = v
										}
									}
								}
							}
						}
					}
				}
				call, ok := node.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				switch sel.Sel.Name {
				case "WriteK", "WriteC", "WriteF":
					if len(call.Args) < 2 {
						return true
					}
					p, ok1 := str(call.Args[0])
					b, ok2 := str(call.Args[1])
					if !ok1 || !ok2 {
						bad = true
						return true
					}
					if sel.Sel.Name == "WriteK" {
						p = filepath.Join(p, "kustomization.yaml")
					} else if sel.Sel.Name == "WriteC" {
						p = filepath.Join(p, "kustomization.yaml")
					}
					written = append(written, file{p, b})
				case "Reset":
					written = nil
				case "MakeOptionsPluginsEnabled", "GetRoot", "ErrIfNoHelm", "WriteLegacyConfigs", "EvalSymlinks":
					bad = true
				case "Run", "RunWithErr":
					if len(call.Args) < 1 {
						return true
					}
					dir, ok := str(call.Args[0])
					if !ok || bad {
						return true
					}
					idx++
					name := fmt.Sprintf("%s_%d", fn.Name.Name, idx)
					root := filepath.Join(out, name)
					for _, w := range written {
						p := filepath.Join(root, "tree", strings.TrimPrefix(w.path, "/"))
						os.MkdirAll(filepath.Dir(p), 0o755)
						os.WriteFile(p, []byte(w.body), 0o644)
					}
					os.MkdirAll(filepath.Join(root, "tree"), 0o755)
					os.WriteFile(filepath.Join(root, "run"), []byte(strings.TrimPrefix(dir, "/")), 0o644)
					n++
				}
				return true
			}
			ast.Inspect(fn.Body, visit)
		}
	}
	fmt.Println(n, "cases")
}
