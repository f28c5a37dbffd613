import { app } from '@azure/functions';
import { route } from './lib/http';
import { API_AUTH_LEVEL } from './lib/auth';
import { backupReport, reportCsv, reportFormat } from '../core/views/report';

/** The backup report: per item RPO, points by tier, stored bytes and a monthly estimate; JSON or CSV. */
app.http('backupReport', {
  methods: ['GET'],
  authLevel: API_AUTH_LEVEL,
  route: 'report',
  handler: route(async (req, _ctx, deps) => {
    const format = reportFormat(req.query.get('format'));
    const report = await backupReport(deps);
    if (format === 'json') return { jsonBody: report };
    return {
      body: reportCsv(report),
      headers: { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="vmbackup-report-${report.generatedAt.slice(0, 10)}.csv"` },
    };
  }),
});
