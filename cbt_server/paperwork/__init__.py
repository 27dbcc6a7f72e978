"""The signed paperwork of a session: room record (考场记录表), score summary (成绩汇总表),
the score chart, and the examiner leader's sign-off that makes results final."""
