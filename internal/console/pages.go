package console

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

//go:embed templates/*.html static/*
var assets embed.FS

// staticFS is the assets served under /static/.
func staticFS() fs.FS {
	sub, err := fs.Sub(assets, "static")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return sub
}

// pages holds one template set a page: the layout with that page's content.
type pages struct {
	sets map[string]*template.Template
}

// pageNames are the templates under templates/, each with a "content" block; fragment
// templates ("overview-body") are defined inside them.
var pageNames = []string{"login", "error", "overview", "plugins", "plugin_form", "rules", "mappings", "logs", "deadletters", "deadletter"}

func loadPages() (*pages, error) {
	p := &pages{sets: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		p.sets[name] = t
	}
	return p, nil
}

var funcs = template.FuncMap{
	"join":      strings.Join,
	"sparkline": sparkline,
	"since":     func(t time.Time) string { return time.Since(t).Round(time.Second).String() },
	"timefmt": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05Z")
	},
	"dur":     func(d time.Duration) string { return d.Round(time.Second).String() },
	"plain":   func(s string) string { return strings.ReplaceAll(s, "`", "") },
	"fieldID": fieldID,
	"reasons": sortedReasons,
	"has": func(list []string, v string) bool {
		for _, x := range list {
			if x == v {
				return true
			}
		}
		return false
	},
	"lastRate": func(rate []float64) string {
		if len(rate) == 0 {
			return ""
		}
		return fmt.Sprintf("%.1f/s", rate[len(rate)-1])
	},
	"lines": func(s string) int { return max(2, min(12, strings.Count(s, "\n")+2)) },
	// pathesc escapes a name for one segment of a URL path, so that a "/", "?" or "#" in it
	// stays in its segment (html/template normalizes a URL's path, it does not escape it).
	"pathesc": url.PathEscape,
}

// fieldID is the HTML id of a form field: "field-tls-ca_file" for tls.ca_file.
func fieldID(key string) string { return "field-" + strings.ReplaceAll(key, ".", "-") }

// reasonCount is one reason a record was dropped and how many were.
type reasonCount struct {
	Reason string
	Count  uint64
}

func sortedReasons(m map[string]uint64) []reasonCount {
	out := make([]reasonCount, 0, len(m))
	for r, n := range m {
		out = append(out, reasonCount{r, n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Reason < out[j].Reason })
	return out
}

// sparkline is the points of an SVG polyline of rate, 120 by 30, scaled to its highest value.
func sparkline(rate []float64) string {
	if len(rate) < 2 {
		return ""
	}
	top := 0.0
	for _, v := range rate {
		top = math.Max(top, v)
	}
	var b strings.Builder
	for i, v := range rate {
		x := float64(i) * 120 / float64(len(rate)-1)
		y := 30.0
		if top > 0 {
			y = 30 - v*28/top
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.1f,%.1f", x, y)
	}
	return b.String()
}

// pageData is what every page's template gets.
type pageData struct {
	Title     string
	Nav       string
	User      string
	Role      Role
	CanChange bool
	CSRF      string
	// Flash is a message of the last change ("saved").
	Flash string
	Data  any
}

func (s *Server) page(ss *session, nav, title string, data any) pageData {
	return pageData{Title: title, Nav: nav, User: ss.user, Role: ss.role, CanChange: ss.role.CanChange(), CSRF: ss.csrf, Data: data}
}

// render writes a page, or its error: the template runs into a buffer first, so that a failing
// template sends a 500 and not half a page.
func (s *Server) render(w http.ResponseWriter, code int, name string, d pageData) {
	s.renderTemplate(w, code, name, "layout.html", d)
}

func (s *Server) renderTemplate(w http.ResponseWriter, code int, set, tmpl string, d any) {
	t, ok := s.pages.sets[set]
	if !ok {
		http.Error(w, "no page "+set, http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, tmpl, d); err != nil {
		s.log.Error("console: page failed", "page", set, "error", err)
		http.Error(w, "the page failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}
