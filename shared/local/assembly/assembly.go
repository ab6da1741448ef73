package assembly

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Env is the environment the templates are resolved in: the account,
// region and partition of the pseudo parameters, and the physical names of
// resources the templates leave unnamed.
type Env struct {
	Account, Region string
	Partition       string // default "aws"
	// Names are physical names by logical id, for resources without a name
	// property (a table, a user pool, ...). A resource of neither gets
	// "<stack>-<logical id>".
	Names map[string]string
	// QueueURL is what Ref of a queue gives (its URL); default
	// https://sqs.REGION.amazonaws.com/ACCOUNT/NAME.
	QueueURL func(name string) string
}

// Assembly is a loaded cloud assembly.
type Assembly struct {
	Dir    string
	Env    Env
	Stacks []*Stack
	// exports are the Outputs with an Export, by export name.
	exports map[string]exportRef
	// assets maps an asset hash (a function's S3Key less ".zip") to its
	// folder in the assembly.
	assets map[string]string
}

type exportRef struct {
	stack *Stack
	value any
}

// Stack is one CloudFormation stack of the assembly.
type Stack struct {
	Name      string
	Template  string // path of the template file
	Resources map[string]*Resource
	asm       *Assembly
	params    map[string]any
}

// Resource is one resource of a template, its properties unresolved.
type Resource struct {
	LogicalID  string
	Type       string
	Properties map[string]any
	Stack      *Stack
}

type manifest struct {
	Artifacts map[string]struct {
		Type       string `json:"type"`
		Properties struct {
			TemplateFile string `json:"templateFile"`
		} `json:"properties"`
	} `json:"artifacts"`
}

type template struct {
	Parameters map[string]struct {
		Default any `json:"Default"`
	} `json:"Parameters"`
	Resources map[string]struct {
		Type       string         `json:"Type"`
		Properties map[string]any `json:"Properties"`
	} `json:"Resources"`
	Outputs map[string]struct {
		Value  any `json:"Value"`
		Export *struct {
			Name any `json:"Name"`
		} `json:"Export"`
	} `json:"Outputs"`
}

type assetManifest struct {
	Files map[string]struct {
		Source struct {
			Path      string `json:"path"`
			Packaging string `json:"packaging"`
		} `json:"source"`
	} `json:"files"`
}

// Load reads the assembly in dir: every stack of its manifest.json.
func Load(dir string, env Env) (*Assembly, error) {
	if env.Partition == "" {
		env.Partition = "aws"
	}
	if env.QueueURL == nil {
		env.QueueURL = func(name string) string {
			return "https://sqs." + env.Region + ".amazonaws.com/" + env.Account + "/" + name
		}
	}
	var m manifest
	if err := readJSON(filepath.Join(dir, "manifest.json"), &m); err != nil {
		return nil, fmt.Errorf("assembly: %w", err)
	}
	a := &Assembly{Dir: dir, Env: env, exports: map[string]exportRef{}, assets: map[string]string{}}
	names := make([]string, 0, len(m.Artifacts))
	for name := range m.Artifacts {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		art := m.Artifacts[name]
		switch art.Type {
		case "cdk:asset-manifest":
			var am assetManifest
			if err := readJSON(filepath.Join(dir, name+".json"), &am); err != nil {
				return nil, fmt.Errorf("assembly: %w", err)
			}
			for hash, f := range am.Files {
				a.assets[hash] = filepath.Join(dir, f.Source.Path)
			}
		case "aws:cloudformation:stack":
			var t template
			file := filepath.Join(dir, art.Properties.TemplateFile)
			if err := readJSON(file, &t); err != nil {
				return nil, fmt.Errorf("assembly: stack %s: %w", name, err)
			}
			st := &Stack{Name: name, Template: file, Resources: map[string]*Resource{}, asm: a, params: map[string]any{}}
			for id, r := range t.Resources {
				st.Resources[id] = &Resource{LogicalID: id, Type: r.Type, Properties: r.Properties, Stack: st}
			}
			for id, p := range t.Parameters {
				st.params[id] = p.Default
			}
			a.Stacks = append(a.Stacks, st)
			for _, o := range t.Outputs {
				if o.Export == nil {
					continue
				}
				exportName, err := st.Resolve(o.Export.Name)
				if err != nil {
					return nil, fmt.Errorf("assembly: stack %s: export name: %w", name, err)
				}
				s, ok := exportName.(string)
				if !ok {
					return nil, fmt.Errorf("assembly: stack %s: export name %v is not a string", name, exportName)
				}
				a.exports[s] = exportRef{stack: st, value: o.Value}
			}
		}
	}
	if len(a.Stacks) == 0 {
		return nil, fmt.Errorf("assembly: %s holds no stack", dir)
	}
	return a, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// Resources lists the resources of every stack, of the given type when typ
// is not empty, ordered by stack and logical id.
func (a *Assembly) Resources(typ string) []*Resource {
	var out []*Resource
	for _, st := range a.Stacks {
		ids := make([]string, 0, len(st.Resources))
		for id := range st.Resources {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			if r := st.Resources[id]; typ == "" || r.Type == typ {
				out = append(out, r)
			}
		}
	}
	return out
}

// Resource finds a resource by logical id in any stack.
func (a *Assembly) Resource(logicalID string) (*Resource, bool) {
	for _, st := range a.Stacks {
		if r, ok := st.Resources[logicalID]; ok {
			return r, true
		}
	}
	return nil, false
}

// Decode resolves the resource's properties and decodes them into v, a
// struct with the CloudFormation property names as JSON names.
func (r *Resource) Decode(v any) error {
	resolved, err := r.Stack.Resolve(r.Properties)
	if err != nil {
		return fmt.Errorf("assembly: %s %s: %w", r.Type, r.LogicalID, err)
	}
	b, err := json.Marshal(resolved)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("assembly: %s %s: %w", r.Type, r.LogicalID, err)
	}
	return nil
}

// nameProperty is the property that names a resource of each type.
var nameProperty = map[string]string{
	"AWS::DynamoDB::Table":     "TableName",
	"AWS::SQS::Queue":          "QueueName",
	"AWS::Lambda::Function":    "FunctionName",
	"AWS::Events::EventBus":    "Name",
	"AWS::IAM::Role":           "RoleName",
	"AWS::Logs::LogGroup":      "LogGroupName",
	"AWS::Scheduler::Schedule": "Name",
	"AWS::SNS::Topic":          "TopicName",
	"AWS::Cognito::UserPool":   "UserPoolName",
}

// Name is the physical name of the resource: its name property, else
// Env.Names, else "<stack>-<logical id>" for a named type and the logical
// id for the others (what Ref of an API Gateway resource or a KMS key
// stands for: an id).
func (r *Resource) Name() (string, error) {
	prop, named := nameProperty[r.Type]
	if named && r.Type != "AWS::Cognito::UserPool" {
		if v, ok := r.Properties[prop]; ok {
			s, err := r.Stack.Resolve(v)
			if err != nil {
				return "", err
			}
			if name, ok := s.(string); ok {
				return name, nil
			}
		}
	}
	if n, ok := r.Stack.asm.Env.Names[r.LogicalID]; ok {
		return n, nil
	}
	if !named {
		return r.LogicalID, nil
	}
	return r.Stack.Name + "-" + r.LogicalID, nil
}

// ARN is the resource's Fn::GetAtt Arn in the environment.
func (r *Resource) ARN() (string, error) {
	name, err := r.Name()
	if err != nil {
		return "", err
	}
	e := r.Stack.asm.Env
	prefix := "arn:" + e.Partition + ":"
	regional := func(service string) string { return prefix + service + ":" + e.Region + ":" + e.Account + ":" }
	switch r.Type {
	case "AWS::DynamoDB::Table":
		return regional("dynamodb") + "table/" + name, nil
	case "AWS::SQS::Queue":
		return regional("sqs") + name, nil
	case "AWS::Lambda::Function":
		return regional("lambda") + "function:" + name, nil
	case "AWS::Events::EventBus":
		return regional("events") + "event-bus/" + name, nil
	case "AWS::IAM::Role":
		return prefix + "iam::" + e.Account + ":role/" + name, nil
	case "AWS::KMS::Key":
		return regional("kms") + "key/" + name, nil
	case "AWS::Logs::LogGroup":
		return regional("logs") + "log-group:" + name + ":*", nil
	case "AWS::SNS::Topic":
		return regional("sns") + name, nil
	case "AWS::Cognito::UserPool":
		return regional("cognito-idp") + "userpool/" + name, nil
	case "AWS::Scheduler::Schedule":
		return regional("scheduler") + "schedule/default/" + name, nil
	case "AWS::SecretsManager::Secret":
		return regional("secretsmanager") + "secret:" + name, nil
	}
	return "", fmt.Errorf("no ARN known for %s %s", r.Type, r.LogicalID)
}

// ref is what Ref of the resource gives, by type.
func (r *Resource) ref() (string, error) {
	name, err := r.Name()
	if err != nil {
		return "", err
	}
	switch r.Type {
	case "AWS::SQS::Queue":
		return r.Stack.asm.Env.QueueURL(name), nil
	case "AWS::SNS::Topic", "AWS::SecretsManager::Secret":
		return r.ARN()
	}
	return name, nil
}

// attr is Fn::GetAtt of the resource.
func (r *Resource) attr(name string) (string, error) {
	switch {
	case name == "Arn":
		return r.ARN()
	case r.Type == "AWS::SQS::Queue" && name == "QueueName":
		return r.Name()
	case r.Type == "AWS::SQS::Queue" && name == "QueueUrl":
		return r.ref()
	case r.Type == "AWS::DynamoDB::Table" && name == "StreamArn":
		arn, err := r.ARN()
		return arn + "/stream/local", err
	case r.Type == "AWS::Events::EventBus" && name == "Name":
		return r.Name()
	}
	return "", fmt.Errorf("Fn::GetAtt %s.%s (%s) is not known locally", r.LogicalID, name, r.Type)
}

// AssetDir is the folder in the assembly of a file asset by its hash.
func (a *Assembly) AssetDir(hash string) (string, bool) {
	d, ok := a.assets[strings.TrimSuffix(hash, ".zip")]
	return d, ok
}
