// Package assembly reads a CDK cloud assembly (the cdk.out folder that
// `cdk synth` writes): its stacks' CloudFormation templates, with the
// intrinsic functions they use (Ref, Fn::GetAtt, Fn::ImportValue, Fn::Join,
// Fn::Sub, Fn::Select, Fn::Split) resolved against the names and ARNs of a
// local environment, and typed views of the resources the local stack runs:
// the table, the functions, the event source mappings, the queues, the
// schedules, the HTTP API's routes and authorizers, and the IAM policies.
//
// It is a leaf package of the standard library only: the local stack reads
// it, and nothing in it knows the local stack.
package assembly
