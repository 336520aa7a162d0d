package source

import (
	"fmt"
	"path"
	"strings"
)

// Patterns select entries by path, for excludes and includes.
//
// A pattern is a slash-separated list of path.Match patterns, one per path
// element, where "**" stands for any number of elements (none included). A
// pattern that starts with "/" is anchored at the source root; any other
// may match at any depth, so "*.log" matches "a/b/x.log" and "cache/tmp"
// matches "home/cache/tmp". A trailing "/" is ignored. Matching a directory
// matches everything in it.
type Patterns struct {
	list [][]string
}

// ParsePatterns checks and compiles patterns.
func ParsePatterns(patterns []string) (Patterns, error) {
	var ps Patterns
	for _, p := range patterns {
		anchored := strings.HasPrefix(p, "/")
		p = strings.Trim(p, "/")
		if p == "" {
			return Patterns{}, fmt.Errorf("pattern %q: empty", p)
		}
		elems := strings.Split(path.Clean(p), "/")
		for _, e := range elems {
			if _, err := path.Match(e, ""); err != nil {
				return Patterns{}, fmt.Errorf("pattern %q: %w", p, err)
			}
		}
		if !anchored && elems[0] != "**" {
			elems = append([]string{"**"}, elems...)
		}
		ps.list = append(ps.list, elems)
	}
	return ps, nil
}

// Empty reports whether there are no patterns.
func (ps Patterns) Empty() bool { return len(ps.list) == 0 }

// Match reports whether p, or a directory it is in, matches a pattern.
func (ps Patterns) Match(p string) bool {
	elems := splitPath(p)
	for _, pat := range ps.list {
		if full, _ := match(pat, elems); full {
			return true
		}
	}
	return false
}

// MayMatchInside reports whether something inside directory p could match a
// pattern, so a walk selecting by includes must go into it.
func (ps Patterns) MayMatchInside(p string) bool {
	elems := splitPath(p)
	for _, pat := range ps.list {
		if full, prefix := match(pat, elems); full || prefix {
			return true
		}
	}
	return false
}

func splitPath(p string) []string {
	if p == "." || p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// match reports whether pat matches elems or one of its leading parts
// (full), and whether elems could be the leading part of a match (prefix).
func match(pat, elems []string) (full, prefix bool) {
	if len(pat) == 0 {
		return true, false // pattern used up: elems or an ancestor matched
	}
	if len(elems) == 0 {
		return false, true
	}
	if pat[0] == "**" {
		if f, p := match(pat[1:], elems); f {
			return true, p
		} else if p {
			prefix = true
		}
		f, p := match(pat, elems[1:])
		return f, p || prefix
	}
	if ok, _ := path.Match(pat[0], elems[0]); !ok {
		return false, false
	}
	return match(pat[1:], elems[1:])
}
