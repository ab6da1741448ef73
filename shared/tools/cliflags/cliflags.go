// Package cliflags parses command lines whose flags may stand before,
// between or after the positional arguments. Go's flag package stops at the
// first positional argument and leaves every later flag as an argument, so
// `loyaltyctl admin GET /admin/rewards -url X` would silently ignore -url;
// the tools parse with Parse instead.
//
// It imports the standard library only.
package cliflags

import "flag"

// Parse parses args with fs, taking flags wherever they stand, and returns
// the positional arguments in order. "--" ends the flags: what follows it is
// positional even when it starts with a dash.
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		// The flag package consumes a "--" and stops after it.
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}
