"""The HTTP face of ConsultantOS Jobs: manage monitors, trigger checks, follow and cancel tasks,
inspect and replay dead-letter queues.

Routes only translate HTTP to calls of the domain (`consultantos.monitoring`) and of the job
layer (`consultantos.jobs`); `consultantos.api.errors` is the one place that turns the error
tree of `consultantos.errors` into status codes.
"""
