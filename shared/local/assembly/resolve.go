package assembly

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Resolve returns v with every intrinsic function of the stack's template
// resolved: Ref (pseudo parameters, parameters by their default,
// resources), Fn::GetAtt, Fn::ImportValue (another stack's export),
// Fn::Join, Fn::Sub, Fn::Select and Fn::Split. Any other function is an
// error that names it, never a value passed on unresolved.
func (st *Stack) Resolve(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 1 {
			for k, arg := range t {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return st.intrinsic(k, arg)
				}
			}
		}
		out := make(map[string]any, len(t))
		for k, x := range t {
			r, err := st.Resolve(x)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			r, err := st.Resolve(x)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

// ResolveString resolves v and wants a string.
func (st *Stack) ResolveString(v any) (string, error) {
	r, err := st.Resolve(v)
	if err != nil {
		return "", err
	}
	s, ok := r.(string)
	if !ok {
		return "", fmt.Errorf("got %v, want a string", r)
	}
	return s, nil
}

func (st *Stack) intrinsic(fn string, arg any) (any, error) {
	switch fn {
	case "Ref":
		name, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("a Ref of %v: want a name", arg)
		}
		return st.ref(name)
	case "Fn::GetAtt":
		var id, attr string
		switch a := arg.(type) {
		case []any:
			if len(a) == 2 {
				id, _ = a[0].(string)
				attr, _ = a[1].(string)
			}
		case string:
			id, attr, _ = strings.Cut(a, ".")
		}
		r, ok := st.Resources[id]
		if !ok || attr == "" {
			return nil, fmt.Errorf("Fn::GetAtt %v: no such resource in %s", arg, st.Name)
		}
		return r.attr(attr)
	case "Fn::ImportValue":
		name, err := st.ResolveString(arg)
		if err != nil {
			return nil, fmt.Errorf("Fn::ImportValue: %w", err)
		}
		exp, ok := st.asm.exports[name]
		if !ok {
			return nil, fmt.Errorf("Fn::ImportValue %q: no stack of the assembly exports it", name)
		}
		return exp.stack.Resolve(exp.value)
	case "Fn::Join":
		a, ok := arg.([]any)
		if !ok || len(a) != 2 {
			return nil, fmt.Errorf("Fn::Join of %v", arg)
		}
		sep, _ := a[0].(string)
		list, err := st.Resolve(a[1])
		if err != nil {
			return nil, err
		}
		items, ok := list.([]any)
		if !ok {
			return nil, fmt.Errorf("Fn::Join: %v is not a list", list)
		}
		parts := make([]string, len(items))
		for i, it := range items {
			s, ok := it.(string)
			if !ok {
				return nil, fmt.Errorf("Fn::Join: item %v is not a string", it)
			}
			parts[i] = s
		}
		return strings.Join(parts, sep), nil
	case "Fn::Select":
		a, ok := arg.([]any)
		if !ok || len(a) != 2 {
			return nil, fmt.Errorf("Fn::Select of %v", arg)
		}
		idx, err := st.Resolve(a[0])
		if err != nil {
			return nil, err
		}
		list, err := st.Resolve(a[1])
		if err != nil {
			return nil, err
		}
		var i int
		switch n := idx.(type) {
		case float64:
			i = int(n)
		case string:
			i, err = strconv.Atoi(n)
			if err != nil {
				return nil, fmt.Errorf("Fn::Select index %q", n)
			}
		}
		items, ok := list.([]any)
		if !ok || i < 0 || i >= len(items) {
			return nil, fmt.Errorf("Fn::Select %d of %v", i, list)
		}
		return items[i], nil
	case "Fn::Split":
		a, ok := arg.([]any)
		if !ok || len(a) != 2 {
			return nil, fmt.Errorf("Fn::Split of %v", arg)
		}
		sep, _ := a[0].(string)
		s, err := st.ResolveString(a[1])
		if err != nil {
			return nil, err
		}
		var out []any
		for _, p := range strings.Split(s, sep) {
			out = append(out, p)
		}
		return out, nil
	case "Fn::Sub":
		return st.sub(arg)
	}
	return nil, fmt.Errorf("%s is not resolved locally", fn)
}

func (st *Stack) ref(name string) (any, error) {
	e := st.asm.Env
	switch name {
	case "AWS::AccountId":
		return e.Account, nil
	case "AWS::Region":
		return e.Region, nil
	case "AWS::Partition":
		return e.Partition, nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	case "AWS::StackName":
		return st.Name, nil
	case "AWS::NoValue":
		return nil, nil
	}
	if d, ok := st.params[name]; ok {
		return d, nil
	}
	if r, ok := st.Resources[name]; ok {
		return r.ref()
	}
	return nil, fmt.Errorf("no parameter or resource %q in %s (a Ref)", name, st.Name)
}

// sub resolves Fn::Sub: "${Name}" and "${Name.Attr}", with the variables
// of its second form first; "${!x}" stays "${x}".
func (st *Stack) sub(arg any) (any, error) {
	var text string
	vars := map[string]any{}
	switch a := arg.(type) {
	case string:
		text = a
	case []any:
		if len(a) != 2 {
			return nil, fmt.Errorf("Fn::Sub of %v", arg)
		}
		text, _ = a[0].(string)
		m, _ := a[1].(map[string]any)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v, err := st.Resolve(m[k])
			if err != nil {
				return nil, err
			}
			vars[k] = v
		}
	default:
		return nil, fmt.Errorf("Fn::Sub of %v", arg)
	}
	var b strings.Builder
	for {
		i := strings.Index(text, "${")
		if i < 0 {
			b.WriteString(text)
			return b.String(), nil
		}
		b.WriteString(text[:i])
		j := strings.Index(text[i:], "}")
		if j < 0 {
			return nil, fmt.Errorf("Fn::Sub: unclosed ${ in %q", text)
		}
		name := text[i+2 : i+j]
		text = text[i+j+1:]
		if lit, ok := strings.CutPrefix(name, "!"); ok {
			b.WriteString("${" + lit + "}")
			continue
		}
		var v any
		var err error
		if x, ok := vars[name]; ok {
			v = x
		} else if id, attr, ok := strings.Cut(name, "."); ok {
			v, err = st.intrinsic("Fn::GetAtt", []any{id, attr})
		} else {
			v, err = st.ref(name)
		}
		if err != nil {
			return nil, fmt.Errorf("Fn::Sub: %w", err)
		}
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("Fn::Sub: ${%s} is %v, not a string", name, v)
		}
		b.WriteString(s)
	}
}
