"""Live classes: the teacher's projector and the students' phones in one server process
(issue #24). :mod:`.model` is the class itself, :mod:`.registry` the server's bounded set of
classes with its janitor, :mod:`.federation` the teacher's simulation in which every student
plays one client. None of them imports Streamlit."""
