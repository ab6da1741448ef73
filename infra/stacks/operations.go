package stacks

import (
	"fmt"
	"slices"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/jsii-runtime-go"

	"github.com/loyalty-functions/loyalty/shared/emf"
)

// Business metrics the functions publish in CloudWatch Embedded Metric
// Format: namespace MetricNamespace, dimension Stage, unit Count.
const (
	MetricNamespace     = "Loyalty"
	MetricStageDim      = "Stage"
	MetricPointsAccrued = "PointsAccrued"
	MetricPointsRedeem  = "PointsRedeemed"
	MetricPointsExpired = "PointsExpired"
	MetricRejected      = "MessagesRejected"
	// MetricJobRunsIncomplete is 1 per job run that stopped before its work
	// was done, 0 per run that finished, by Stage and MetricJobDim (the job).
	MetricJobRunsIncomplete = emf.JobRunsIncomplete
	MetricJobDim            = emf.JobDimension
)

// partnerBacklogAlarmSeconds: a partner message older than this means
// ingest has stopped keeping up (or stopped).
const partnerBacklogAlarmSeconds = 15 * 60

var fiveMinutes = awscdk.Duration_Minutes(jsii.Number(5))

// tableOperations are the operations the functions call; their throttles
// are summed for the table's alarm.
var tableOperations = []awsdynamodb.Operation{
	awsdynamodb.Operation_GET_ITEM, awsdynamodb.Operation_BATCH_GET_ITEM, awsdynamodb.Operation_QUERY,
	awsdynamodb.Operation_PUT_ITEM, awsdynamodb.Operation_UPDATE_ITEM, awsdynamodb.Operation_DELETE_ITEM,
	awsdynamodb.Operation_TRANSACT_WRITE_ITEMS,
}

// businessMetric is one EMF metric of this stage, summed over 5 minutes.
func businessMetric(stage, name string) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String(MetricNamespace),
		MetricName:    jsii.String(name),
		DimensionsMap: &map[string]*string{MetricStageDim: jsii.String(stage)},
		Statistic:     jsii.String("Sum"),
		Period:        fiveMinutes,
	})
}

// unusualAccrualStdDevs is the width of a partner's expected accrual band.
const unusualAccrualStdDevs = 4

// newOperations builds the alarms (all to the alarm topic) and the
// dashboard. Every alarm fires on the first bad datapoint: each stands for
// a member or partner who did not get what they should have. The
// incomplete-run alarms wait for a job's last run of the day instead (see
// newIncompleteRunsAlarm).
func newOperations(stack awscdk.Stack, cfg Config, st *StatefulStack, s *ServiceStack, fns []Function) {
	action := awscloudwatchactions.NewSnsAction(s.AlarmTopic)
	var alarms []interfacesawscloudwatch.IAlarmRef
	alarm := func(id, description string, metric awscloudwatch.IMetric, threshold float64) {
		a := awscloudwatch.NewAlarm(stack, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(description),
			Metric:             metric,
			Threshold:          jsii.Number(threshold),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
			EvaluationPeriods:  jsii.Number(1),
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
		a.AddOkAction(action)
		alarms = append(alarms, a)
	}
	sum := &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: fiveMinutes}
	maximum := &awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: fiveMinutes}

	// Dead letters: a partner message or a job run that needs a human.
	for _, pq := range st.PartnerQueues {
		id := partnerConstructID(pq.PartnerID)
		alarm(id+"DLQDepthAlarm", "Messages of partner "+pq.PartnerID+" failed 5 deliveries and wait in its DLQ for replay",
			pq.DLQ.MetricApproximateNumberOfMessagesVisible(maximum), 0)
		alarm(id+"BacklogAlarm", fmt.Sprintf("The oldest message of partner %s is older than %d minutes: ingest is behind or failing", pq.PartnerID, partnerBacklogAlarmSeconds/60),
			pq.Queue.MetricApproximateAgeOfOldestMessage(maximum), partnerBacklogAlarmSeconds)
	}
	// Unusual accrual: a partner whose purchases credit far more points
	// than its usual pattern (a forged or broken till, a runaway
	// promotion) pages ops. CloudWatch learns each partner's band from the
	// hourly sums; the alarm fires above it.
	for _, pq := range st.PartnerQueues {
		a := awscloudwatch.NewAnomalyDetectionAlarm(stack, jsii.String(partnerConstructID(pq.PartnerID)+"UnusualAccrualAlarm"), &awscloudwatch.AnomalyDetectionAlarmProps{
			AlarmDescription: jsii.String("Partner " + pq.PartnerID + " credited more points in an hour than its usual band"),
			Metric: awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace:  jsii.String(MetricNamespace),
				MetricName: jsii.String(emf.PartnerPointsAccrued),
				DimensionsMap: &map[string]*string{
					MetricStageDim:       jsii.String(cfg.Stage),
					emf.PartnerDimension: jsii.String(pq.PartnerID),
				},
				Statistic: jsii.String("Sum"),
				Period:    awscdk.Duration_Hours(jsii.Number(1)),
			}),
			StdDevs:            jsii.Number(unusualAccrualStdDevs),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_UPPER_THRESHOLD,
			EvaluationPeriods:  jsii.Number(1),
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
		a.AddOkAction(action)
		alarms = append(alarms, a)
	}
	for _, name := range sortedKeys(s.JobDLQs) {
		alarm(constructID(name)+"DLQDepthAlarm", "A run of the "+name+" job could not start or failed after retries",
			s.JobDLQs[name].MetricApproximateNumberOfMessagesVisible(maximum), 0)
	}

	for _, f := range FunctionsOfKind(fns, KindJob) {
		alarms = append(alarms, newIncompleteRunsAlarm(stack, cfg, f, action))
	}

	for _, f := range fns {
		fn := s.Functions[f.Name]
		alarm(constructID(f.Name)+"ErrorsAlarm", f.Name+" returned errors (a failed invocation, not a rejected message)",
			fn.MetricErrors(sum), 0)
		alarm(constructID(f.Name)+"ThrottlesAlarm", f.Name+" was throttled: the account's concurrency is exhausted",
			fn.MetricThrottles(sum), 0)
	}

	tableThrottles := st.Table.MetricThrottledRequestsForOperations(&awsdynamodb.OperationsMetricOptions{
		Operations: &tableOperations, Period: fiveMinutes,
	})
	alarm("TableThrottlesAlarm", "DynamoDB throttled requests on the loyalty table", tableThrottles, 0)

	alarm("ApiServerErrorsAlarm", "The HTTP API answered 5xx", s.API.API.MetricServerError(sum), 0)

	rejected := businessMetric(cfg.Stage, MetricRejected)
	alarm("MessagesRejectedAlarm", "Partner messages were rejected (recorded with their reason in the table)", rejected, 0)

	newDashboard(stack, cfg, st, s, fns, alarms)
}

// newIncompleteRunsAlarm alarms when the last scheduled run of a job's day
// still stopped before its work was done. A run cut short is by design
// (expire-points resumes hourly from its checkpoints until 05:05), so one
// incomplete run is no alarm. Once a run finishes the day, later runs find
// it checkpointed and finish too, so the last run is incomplete exactly
// when every scheduled run of the day was. The alarm reads the runs hour
// by hour over the hours of the schedule (Minimum: an hour counts only if
// its retries did not finish either) and fires when all of them were
// incomplete: 6 of 6 hours for expire-points, so after the 05:05 run; the
// run itself for a job that runs once a day. Hours without runs are not
// breaching, so it clears an hour later (the OK means "no new evidence",
// not "done"). The night clocks go forward loses one hourly run, so that
// night it stays quiet.
func newIncompleteRunsAlarm(stack awscdk.Stack, cfg Config, f Function, action awscloudwatch.IAlarmAction) awscloudwatch.Alarm {
	hours := f.Schedule.Hours
	span := slices.Max(hours) - slices.Min(hours) + 1
	metric := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String(MetricNamespace),
		MetricName:    jsii.String(MetricJobRunsIncomplete),
		DimensionsMap: &map[string]*string{MetricStageDim: jsii.String(cfg.Stage), MetricJobDim: jsii.String(f.Name)},
		Statistic:     jsii.String("Minimum"),
		Period:        awscdk.Duration_Hours(jsii.Number(1)),
	})
	a := awscloudwatch.NewAlarm(stack, jsii.String(constructID(f.Name)+"IncompleteRunsAlarm"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String(fmt.Sprintf("Every scheduled run of %s (%s) stopped before its work was done, the last one too: "+
			"what is left waits for the next day's run (lookback) or a run by hand with detail.day", f.Name, f.Schedule)),
		Metric:             metric,
		Threshold:          jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		EvaluationPeriods:  jsii.Number(float64(span)),
		DatapointsToAlarm:  jsii.Number(float64(len(hours))),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	a.AddAlarmAction(action)
	a.AddOkAction(action)
	return a
}

func newDashboard(stack awscdk.Stack, cfg Config, st *StatefulStack, s *ServiceStack, fns []Function, alarms []interfacesawscloudwatch.IAlarmRef) {
	graph := func(title string, left ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: &left, Width: jsii.Number(12), Height: jsii.Number(6),
		})
	}
	sum := &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: fiveMinutes}

	var invocations, errors, durations []awscloudwatch.IMetric
	for _, f := range fns {
		fn := s.Functions[f.Name]
		label := &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: fiveMinutes, Label: jsii.String(f.Name)}
		invocations = append(invocations, fn.MetricInvocations(label))
		errors = append(errors, fn.MetricErrors(label))
		durations = append(durations, fn.MetricDuration(&awscloudwatch.MetricOptions{
			Statistic: jsii.String("p99"), Period: fiveMinutes, Label: jsii.String(f.Name),
		}))
	}
	var dlqs, partnerQueues []awscloudwatch.IMetric
	for _, pq := range st.PartnerQueues {
		dlqs = append(dlqs, pq.DLQ.MetricApproximateNumberOfMessagesVisible(
			&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: fiveMinutes, Label: jsii.String(pq.PartnerID)}))
		partnerQueues = append(partnerQueues,
			pq.Queue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: fiveMinutes, Label: jsii.String(pq.PartnerID + " visible")}),
			pq.Queue.MetricApproximateAgeOfOldestMessage(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: fiveMinutes, Label: jsii.String(pq.PartnerID + " oldest (s)")}))
	}
	for _, name := range sortedKeys(s.JobDLQs) {
		dlqs = append(dlqs, s.JobDLQs[name].MetricApproximateNumberOfMessagesVisible(
			&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: fiveMinutes, Label: jsii.String(name)}))
	}
	api := s.API.API

	awscloudwatch.NewDashboard(stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DefaultInterval: awscdk.Duration_Days(jsii.Number(7)),
		Widgets: &[]*[]awscloudwatch.IWidget{
			{awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
				Title: jsii.String("Alarms (" + cfg.Stage + ")"), Alarms: &alarms, Width: jsii.Number(24), Height: jsii.Number(4),
			})},
			{
				graph("Points (EMF, sum per 5 min)",
					businessMetric(cfg.Stage, MetricPointsAccrued),
					businessMetric(cfg.Stage, MetricPointsRedeem),
					businessMetric(cfg.Stage, MetricPointsExpired)),
				graph("Rejected partner messages", businessMetric(cfg.Stage, MetricRejected)),
			},
			{
				graph("Partner queues: visible and oldest (s)", partnerQueues...),
				graph("Dead-letter queues (messages)", dlqs...),
			},
			{
				graph("Invocations", invocations...),
				graph("Errors", errors...),
			},
			{
				graph("Duration p99 (ms)", durations...),
				graph("HTTP API: requests, 4xx, 5xx",
					api.MetricCount(sum), api.MetricClientError(sum), api.MetricServerError(sum)),
			},
			{
				graph("Table: throttled requests",
					st.Table.MetricThrottledRequestsForOperations(&awsdynamodb.OperationsMetricOptions{
						Operations: &tableOperations, Period: fiveMinutes,
					})),
				graph("Table: consumed capacity",
					st.Table.MetricConsumedReadCapacityUnits(sum), st.Table.MetricConsumedWriteCapacityUnits(sum)),
			},
		},
	})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
