package yamlspec

import (
	"errors"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// ExpandEnv replaces ${VAR} and ${VAR:-default} in every scalar value of a
// document (not in keys) with the environment's values, keeping positions
// for error messages. A ${VAR} without a default whose variable is unset is
// an error naming the variable; "$${" writes a literal "${".
func ExpandEnv(file string, root *yaml.Node, lookup func(string) (string, bool)) error {
	var errs []error
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], join(path, n.Content[i].Value))
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, path+"["+itoa(i)+"]")
			}
		case yaml.ScalarNode:
			if !strings.Contains(n.Value, "${") {
				return
			}
			const escaped = "\x00lit\x00"
			v := strings.ReplaceAll(n.Value, "$${", escaped)
			v = envRef.ReplaceAllStringFunc(v, func(ref string) string {
				m := envRef.FindStringSubmatch(ref)
				if val, ok := lookup(m[1]); ok && (val != "" || m[2] == "") {
					return val
				}
				if m[2] != "" {
					return m[3]
				}
				errs = append(errs, At(file, n, path, "environment variable %s is not set (write ${%s:-default} for a default)", m[1], m[1]))
				return ref
			})
			n.Value = strings.ReplaceAll(v, escaped, "${")
		}
	}
	walk(root, "")
	return errors.Join(errs...)
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
